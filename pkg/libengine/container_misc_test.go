package libengine

import (
	"errors"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func TestParsePruneFilters(t *testing.T) {
	t.Parallel()
	now := time.Now()
	old := now.Add(-48 * time.Hour)
	labels := map[string]string{"keep": "yes", "tier": "db"}
	tests := []struct {
		filters []string
		created time.Time
		want    bool
	}{
		{nil, now, true},
		{[]string{"label=keep"}, now, true},
		{[]string{"label=keep=no"}, now, false},
		{[]string{"label!=keep"}, now, false},
		{[]string{"label!=other"}, now, true},
		{[]string{"until=24h"}, now, false},
		{[]string{"until=24h"}, old, true},
		{[]string{"until=24h", "label=tier=db"}, old, true},
		{[]string{"until=24h", "label=tier=web"}, old, false},
	}
	for _, tc := range tests {
		match, err := parsePruneFilters(tc.filters, now)
		if err != nil {
			t.Fatalf("%q: %v", tc.filters, err)
		}
		if got := match(labels, tc.created); got != tc.want {
			t.Errorf("%q on a container created %v = %v", tc.filters, tc.created, got)
		}
	}
	for _, bad := range []string{"label", "status=exited", "until=soon"} {
		if _, err := parsePruneFilters([]string{bad}, now); !errors.Is(err, define.ErrInvalidArg) {
			t.Errorf("filter %q: %v, want ErrInvalidArg", bad, err)
		}
	}
}
