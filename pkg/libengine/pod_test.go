package libengine

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/state"
	"github.com/engine-oss/engine/pkg/specgen"
)

func TestParsePodShare(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{"", []string{}, false},
		{"none", []string{}, false},
		{"net", []string{"net"}, false},
		{"uts,ipc,ipc", []string{"ipc", "uts"}, false},
		{"+pid", []string{"ipc", "net", "pid", "uts"}, false},
		{"+net", []string{"ipc", "net", "uts"}, false},
		{"mnt", nil, true},
		{"net,user", nil, true},
	} {
		got, err := ParsePodShare(tc.in)
		if tc.bad {
			if !errors.Is(err, define.ErrInvalidArg) {
				t.Errorf("ParsePodShare(%q) error = %v, want ErrInvalidArg", tc.in, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParsePodShare(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestCheckPodOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		opts  PodCreateOptions
		share []string
		ok    bool
	}{
		{"defaults", PodCreateOptions{Name: "web", Publish: []string{"80"}, Hostname: "h"}, DefaultPodShare, true},
		{"bad name", PodCreateOptions{Name: "-web"}, DefaultPodShare, false},
		{"ports without net", PodCreateOptions{Publish: []string{"80"}}, []string{"ipc"}, false},
		{"dns without net", PodCreateOptions{DNSServers: []string{"1.1.1.1"}}, []string{"uts"}, false},
		{"hostname without uts", PodCreateOptions{Hostname: "h"}, []string{"net"}, false},
		{"no infra", PodCreateOptions{NoInfra: true}, nil, true},
		{"no infra sharing", PodCreateOptions{NoInfra: true, Share: []string{"ipc"}}, []string{"ipc"}, false},
		{"no infra with ports", PodCreateOptions{NoInfra: true, Publish: []string{"80"}}, nil, false},
		{"exit policy stop", PodCreateOptions{ExitPolicy: PodExitPolicyStop}, DefaultPodShare, true},
		{"exit policy continue", PodCreateOptions{ExitPolicy: PodExitPolicyContinue}, DefaultPodShare, true},
		{"unknown exit policy", PodCreateOptions{ExitPolicy: "restart"}, DefaultPodShare, false},
		{"no infra with pid file", PodCreateOptions{NoInfra: true, InfraConmonPidFile: "/run/p.pid"}, nil, false},
		{"no infra with volume", PodCreateOptions{NoInfra: true, Volumes: []specgen.Mount{{Type: "bind", Source: "/srv", Destination: "/srv"}}}, nil, false},
		{"no infra with shm size", PodCreateOptions{NoInfra: true, ShmSize: new(int64)}, nil, false},
	} {
		err := checkPodOptions(&tc.opts, tc.share)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, define.ErrInvalidArg)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestPodJoin(t *testing.T) {
	t.Parallel()
	p := &pod{Pod: &state.Pod{ID: "pod1", Name: "web", InfraID: "infra1"}, cfg: podConfig{Share: DefaultPodShare}}
	j := &podJoin{pod: p}
	for _, tc := range []struct {
		flag string
		set  func(*specgen.SpecGenerator)
	}{
		{"--network", func(s *specgen.SpecGenerator) { s.Namespaces.Network = "none" }},
		{"--network", func(s *specgen.SpecGenerator) { s.Networks = []specgen.NetworkAttach{{Name: "n"}} }},
		{"-p/--publish", func(s *specgen.SpecGenerator) { s.PublishPorts = []string{"80"} }},
		{"-p/--publish", func(s *specgen.SpecGenerator) { s.PublishAll = true }},
		{"--dns", func(s *specgen.SpecGenerator) { s.DNSServers = []string{"1.1.1.1"} }},
		{"--add-host", func(s *specgen.SpecGenerator) { s.HostAdd = []string{"a:1.2.3.4"} }},
		{"--ipc", func(s *specgen.SpecGenerator) { s.Namespaces.IPC = "host" }},
		{"--uts", func(s *specgen.SpecGenerator) { s.Namespaces.UTS = "host" }},
		{"--hostname", func(s *specgen.SpecGenerator) { s.Hostname = "x" }},
	} {
		s := &specgen.SpecGenerator{}
		tc.set(s)
		err := j.check(s)
		if !errors.Is(err, define.ErrInvalidArg) || !bytes.HasPrefix([]byte(err.Error()), []byte(tc.flag+" cannot be set for a container in a pod")) {
			t.Errorf("%s: %v", tc.flag, err)
		}
	}
	// What the pod does not share stays the container's.
	s := &specgen.SpecGenerator{Namespaces: specgen.Namespaces{PID: "host"}}
	if err := j.check(s); err != nil {
		t.Fatalf("--pid host in a pod sharing ipc,net,uts: %v", err)
	}
	j.apply(s)
	want := specgen.Namespaces{Network: "container:infra1", IPC: "container:infra1", UTS: "container:infra1", PID: "host"}
	if s.Pod != "pod1" || s.Namespaces != want {
		t.Errorf("apply: pod %q namespaces %+v", s.Pod, s.Namespaces)
	}
	c := &ctr{Container: &state.Container{Pod: "pod1"}, cfg: containerConfig{Spec: s}}
	if got := c.infraOf(); got != "infra1" {
		t.Errorf("infraOf = %q", got)
	}
	if len(s.VolumesFrom) > 0 {
		t.Errorf("a pod without volumes: member --volumes-from %q", s.VolumesFrom)
	}
	j.hostNet = true
	s = &specgen.SpecGenerator{}
	j.apply(s)
	if s.Namespaces.Network != "host" {
		t.Errorf("a pod on the host's network: member network %q", s.Namespaces.Network)
	}
	// The infra's volumes (pod create -v) are every member's.
	j.infraMounts = true
	s = &specgen.SpecGenerator{VolumesFrom: []string{"other"}}
	j.apply(s)
	if !slices.Equal(s.VolumesFrom, []string{"other", "infra1"}) {
		t.Errorf("a pod with volumes: member --volumes-from %q, want other and the infra", s.VolumesFrom)
	}
}

func TestPrefixWriter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	var mu sync.Mutex
	a := &prefixWriter{mu: &mu, w: &out, prefix: []byte("a ")}
	b := &prefixWriter{mu: &mu, w: &out, prefix: []byte("b ")}
	for _, step := range []struct {
		w    *prefixWriter
		data string
	}{{a, "one\ntw"}, {b, "three\n"}, {a, "o\nfour"}} {
		if _, err := fmt.Fprint(step.w, step.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(a.flush(), b.flush()); err != nil {
		t.Fatal(err)
	}
	if want := "a one\nb three\na two\na four\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestPauseImageName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"0.1.0-dev": "localhost/engine-pause:0.1.0-dev", "abc+dirty/x": "localhost/engine-pause:abc-dirty-x",
		"-x": "localhost/engine-pause:v-x", "": "localhost/engine-pause:v",
	} {
		if got := pauseImageName(in); got != want {
			t.Errorf("pauseImageName(%q) = %q, want %q", in, got, want)
		}
	}
}
