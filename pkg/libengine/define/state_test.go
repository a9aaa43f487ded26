package define

import (
	"errors"
	"testing"
)

func TestTransitions(t *testing.T) {
	t.Parallel()
	valid := map[[2]ContainerStatus]bool{
		{StatusCreated, StatusRunning}:  true,
		{StatusCreated, StatusExited}:   true,
		{StatusCreated, StatusRemoving}: true,
		{StatusRunning, StatusPaused}:   true,
		{StatusRunning, StatusStopping}: true,
		{StatusRunning, StatusExited}:   true,
		{StatusPaused, StatusRunning}:   true,
		{StatusPaused, StatusStopping}:  true,
		{StatusPaused, StatusExited}:    true,
		{StatusStopping, StatusExited}:  true,
		{StatusExited, StatusRunning}:   true,
		{StatusExited, StatusRemoving}:  true,
		{StatusExited, StatusCreated}:   true,
	}
	// Walk every pair, so a transition added to the table without a test fails here.
	for _, from := range Statuses() {
		for _, to := range Statuses() {
			want := valid[[2]ContainerStatus{from, to}]
			if got := CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
			err := CheckTransition(from, to)
			if want != (err == nil) {
				t.Errorf("CheckTransition(%s, %s) = %v", from, to, err)
			}
			if err != nil && !errors.Is(err, ErrCtrStateInvalid) {
				t.Errorf("CheckTransition(%s, %s) error %v does not wrap ErrCtrStateInvalid", from, to, err)
			}
		}
	}
}
