package define

import "testing"

func TestPodStatusOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ctrs []ContainerStatus
		want PodStatus
	}{
		{nil, PodStatusCreated},
		{[]ContainerStatus{StatusCreated, StatusCreated}, PodStatusCreated},
		{[]ContainerStatus{StatusRunning, StatusRunning}, PodStatusRunning},
		{[]ContainerStatus{StatusRunning, StatusExited}, PodStatusDegraded},
		{[]ContainerStatus{StatusRunning, StatusCreated}, PodStatusDegraded},
		{[]ContainerStatus{StatusPaused, StatusPaused}, PodStatusPaused},
		{[]ContainerStatus{StatusPaused, StatusExited}, PodStatusStopped},
		{[]ContainerStatus{StatusExited, StatusExited}, PodStatusExited},
		{[]ContainerStatus{StatusExited, StatusCreated}, PodStatusStopped},
		{[]ContainerStatus{StatusStopping, StatusCreated}, PodStatusError},
	} {
		if got := PodStatusOf(tc.ctrs); got != tc.want {
			t.Errorf("PodStatusOf(%v) = %s, want %s", tc.ctrs, got, tc.want)
		}
	}
}
