package specgen

import (
	"reflect"
	"slices"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// podmanDefaultCapMask is CapEff of a root process in a default podman 4
// container: CHOWN(0) DAC_OVERRIDE(1) FOWNER(3) FSETID(4) KILL(5) SETGID(6)
// SETUID(7) SETPCAP(8) NET_BIND_SERVICE(10) SYS_CHROOT(18) SETFCAP(31).
// (Docker's 0xa80425fb adds NET_RAW, MKNOD and AUDIT_WRITE.)
const podmanDefaultCapMask = 0x800405fb

func TestDefaultCapabilitiesMask(t *testing.T) {
	t.Parallel()
	if got := capMask(DefaultCapabilities); got != podmanDefaultCapMask {
		t.Errorf("mask of DefaultCapabilities = %#x, want %#x", got, podmanDefaultCapMask)
	}
	if got := CapabilitiesFromMask(podmanDefaultCapMask); !reflect.DeepEqual(got, sorted(DefaultCapabilities)) {
		t.Errorf("CapabilitiesFromMask = %v", got)
	}
	// This host's CapBnd: everything but CAP_SYS_RESOURCE.
	got := CapabilitiesFromMask(0x1fffeffffff)
	if len(got) != len(capNames)-1 || slices.Contains(got, "CAP_SYS_RESOURCE") {
		t.Errorf("CapabilitiesFromMask(0x1fffeffffff) = %v", got)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.SortFunc(s, func(a, b string) int { return slices.Index(capNames, a) - slices.Index(capNames, b) })
	return s
}

func TestCheckCaps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		add, drop []string
		err       error
		flag      string
	}{
		{"plain", []string{"NET_ADMIN"}, []string{"KILL"}, nil, ""},
		{"prefix and case", []string{"cap_net_admin", "sys_ptrace"}, []string{"Cap_Kill"}, nil, ""},
		{"add all", []string{"ALL"}, []string{"SYS_ADMIN"}, nil, ""},
		{"drop all", []string{"NET_ADMIN"}, []string{"all"}, nil, ""},
		{"unknown add", []string{"NET_ADMIM"}, nil, define.ErrInvalidArg, "--cap-add"},
		{"unknown drop", nil, []string{"CAP_FOO"}, define.ErrInvalidArg, "--cap-drop"},
		{"all both", []string{"ALL"}, []string{"ALL"}, define.ErrInvalidArg, "--cap-add ALL"},
		{"same both", []string{"KILL"}, []string{"cap_kill"}, define.ErrInvalidArg, "CAP_KILL"},
	} {
		err := checkCaps(tc.add, tc.drop)
		if tc.err == nil {
			wantErr(t, err, nil)
		} else {
			wantErr(t, err, tc.err, tc.flag)
		}
	}
}

func TestMergeCaps(t *testing.T) {
	t.Parallel()
	all := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"}
	base := []string{"CAP_CHOWN", "CAP_KILL"}
	for _, tc := range []struct {
		name      string
		add, drop []string
		want      []string
	}{
		{"none", nil, nil, []string{"CAP_CHOWN", "CAP_KILL"}},
		{"add", []string{"net_admin"}, nil, []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN"}},
		{"add present", []string{"CHOWN"}, nil, []string{"CAP_CHOWN", "CAP_KILL"}},
		{"drop", nil, []string{"KILL"}, []string{"CAP_CHOWN"}},
		{"add all", []string{"ALL"}, []string{"SYS_ADMIN"}, []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN"}},
		{"drop all", []string{"NET_ADMIN"}, []string{"ALL"}, []string{"CAP_NET_ADMIN"}},
		{"drop all alone", nil, []string{"ALL"}, nil},
	} {
		if got := mergeCaps(base, tc.add, tc.drop, all); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: mergeCaps = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestWithCapabilities(t *testing.T) {
	t.Parallel()
	defaults := sorted(DefaultCapabilities)
	for _, tc := range []struct {
		name     string
		sec      Security
		root     bool
		bounding []string
		want     specs.LinuxCapabilities
	}{
		{"root default", Security{}, true, nil,
			specs.LinuxCapabilities{Bounding: defaults, Effective: defaults, Permitted: defaults}},
		{"non-root default", Security{}, false, nil,
			specs.LinuxCapabilities{Bounding: defaults}},
		{"non-root with cap-add", Security{CapAdd: []string{"NET_ADMIN"}}, false, nil,
			specs.LinuxCapabilities{
				Bounding:  sorted(append(slices.Clone(DefaultCapabilities), "CAP_NET_ADMIN")),
				Effective: []string{"CAP_NET_ADMIN"}, Permitted: []string{"CAP_NET_ADMIN"},
				Inheritable: []string{"CAP_NET_ADMIN"}, Ambient: []string{"CAP_NET_ADMIN"},
			}},
		{"drop all add one", Security{CapAdd: []string{"chown"}, CapDrop: []string{"all"}}, true, nil,
			specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}, Effective: []string{"CAP_CHOWN"}, Permitted: []string{"CAP_CHOWN"}}},
		{"cap-add beyond bounding set", Security{CapAdd: []string{"SYS_RESOURCE"}}, true, DefaultCapabilities,
			specs.LinuxCapabilities{Bounding: defaults, Effective: defaults, Permitted: defaults}},
		{"privileged in a limited bounding set", Security{Privileged: true}, true, []string{"CAP_SYS_ADMIN", "CAP_CHOWN"},
			specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}, Effective: []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}, Permitted: []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}}},
	} {
		spec := &specs.Spec{Process: &specs.Process{}}
		if err := withCapabilities(tc.sec, tc.root, tc.bounding)(spec); err != nil {
			t.Fatal(err)
		}
		got := *spec.Process.Capabilities
		// Compare as sets in capability order.
		for _, l := range []*[]string{&got.Bounding, &got.Effective, &got.Permitted, &got.Inheritable, &got.Ambient} {
			if len(*l) == 0 {
				*l = nil
			} else {
				*l = sorted(*l)
			}
		}
		for _, l := range []*[]string{&tc.want.Bounding, &tc.want.Effective, &tc.want.Permitted, &tc.want.Inheritable, &tc.want.Ambient} {
			if *l != nil {
				*l = sorted(*l)
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
	// Privileged with no bounding set given has every capability.
	spec := &specs.Spec{Process: &specs.Process{}}
	if err := withCapabilities(Security{Privileged: true}, true, nil)(spec); err != nil {
		t.Fatal(err)
	}
	if len(spec.Process.Capabilities.Bounding) != len(capNames) {
		t.Errorf("privileged bounding = %v", spec.Process.Capabilities.Bounding)
	}
}
