package libengine

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/state"
	"github.com/engine-oss/engine/pkg/specgen"
)

func TestParseImageHealthcheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, config string
		want         *specgen.HealthConfig
		wantErr      error
	}{
		{"none", `{"config":{"Env":["A=b"]}}`, nil, nil},
		{"docker defaults", `{"config":{"Healthcheck":{"Test":["CMD-SHELL","curl -f http://localhost/"]}}}`,
			&specgen.HealthConfig{Test: []string{"CMD-SHELL", "curl -f http://localhost/"}, Interval: 30 * time.Second, Timeout: 30 * time.Second, Retries: 3}, nil},
		{"all set", `{"config":{"Healthcheck":{"Test":["CMD","true"],"Interval":5000000000,"Timeout":1000000000,"StartPeriod":2000000000,"Retries":7}}}`,
			&specgen.HealthConfig{Test: []string{"CMD", "true"}, Interval: 5 * time.Second, Timeout: time.Second, StartPeriod: 2 * time.Second, Retries: 7}, nil},
		{"NONE", `{"config":{"Healthcheck":{"Test":["NONE"]}}}`,
			&specgen.HealthConfig{Test: []string{"NONE"}, Interval: 30 * time.Second, Timeout: 30 * time.Second, Retries: 3}, nil},
		{"bad test", `{"config":{"Healthcheck":{"Test":["SHELL","x"]}}}`, nil, define.ErrInvalidArg},
		{"not JSON", `{`, nil, nil},
	}
	for _, tc := range tests {
		got, err := parseImageHealthcheck([]byte(tc.config))
		switch {
		case tc.name == "not JSON":
			if err == nil {
				t.Errorf("%s: no error", tc.name)
			}
		case tc.wantErr != nil:
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%s: error %v, want %v", tc.name, err, tc.wantErr)
			}
		case err != nil || !reflect.DeepEqual(got, tc.want):
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

// TestUpdateHealth walks podman's health transitions.
func TestUpdateHealth(t *testing.T) {
	t.Parallel()
	hc := &specgen.HealthConfig{Retries: 2, MaxLogCount: 3}
	pass, fail := state.HealthLog{ExitCode: 0}, state.HealthLog{ExitCode: 1}
	h := &state.Health{Status: HealthStarting}
	steps := []struct {
		log           state.HealthLog
		inStartPeriod bool
		status        string
		streak        int
	}{
		{fail, true, HealthStarting, 0}, // start period: not counted
		{fail, false, HealthStarting, 1},
		{pass, false, HealthHealthy, 0},
		{fail, false, HealthHealthy, 1},
		{fail, false, HealthUnhealthy, 2},
		{fail, true, HealthUnhealthy, 2},
		{pass, true, HealthHealthy, 0}, // a pass counts even in the start period
	}
	for i, s := range steps {
		updateHealth(h, s.log, s.inStartPeriod, hc)
		if h.Status != s.status || h.FailingStreak != s.streak {
			t.Fatalf("step %d: %s/%d, want %s/%d", i, h.Status, h.FailingStreak, s.status, s.streak)
		}
	}
	if len(h.Log) != 3 {
		t.Errorf("%d results kept, want 3 (MaxLogCount)", len(h.Log))
	}
	hc.MaxLogCount = -1
	for range 10 {
		updateHealth(h, pass, false, hc)
	}
	if len(h.Log) != 13 {
		t.Errorf("%d results kept, want all 13", len(h.Log))
	}
}

func TestCgroupPlacement(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode     string
		version  int
		parent   string
		disabled bool
	}{
		{"", 1, "/engine", false},
		{specgen.CgroupsNoConmon, 2, "/engine", false},
		{specgen.CgroupsSplit, 1, "/engine", false}, // ignored on v1
		{specgen.CgroupsDisabled, 2, "", true},
	} {
		env := specgen.GenerateEnv{CgroupVersion: tc.version, CgroupParent: "/engine"}
		cgroupPlacement(tc.mode, &env, "c")
		if env.CgroupParent != tc.parent || env.CgroupsDisabled != tc.disabled {
			t.Errorf("%q on v%d: parent %q disabled %v", tc.mode, tc.version, env.CgroupParent, env.CgroupsDisabled)
		}
	}
}

func TestLimitedBuffer(t *testing.T) {
	t.Parallel()
	b := &limitedBuffer{max: 5}
	for _, s := range []string{"abc", "def", "ghi"} {
		if n, err := b.Write([]byte(s)); n != 3 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if b.String() != "abcde" {
		t.Errorf("kept %q", b.String())
	}
}
