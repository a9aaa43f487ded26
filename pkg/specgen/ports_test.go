package specgen

import (
	"slices"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
	imgspec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestParsePortSpec(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want PortMapping
		err  error
	}{
		{"80", PortMapping{ContainerPort: 80, Range: 1, Protocol: "tcp"}, nil},
		{"8080:80", PortMapping{HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "tcp"}, nil},
		{"8080:80/udp", PortMapping{HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "udp"}, nil},
		{"53:53/tcp,udp", PortMapping{HostPort: 53, ContainerPort: 53, Range: 1, Protocol: "tcp,udp"}, nil},
		{"127.0.0.1:8080:80", PortMapping{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "tcp"}, nil},
		{"127.0.0.1::80", PortMapping{HostIP: "127.0.0.1", ContainerPort: 80, Range: 1, Protocol: "tcp"}, nil},
		{"[::1]:8080:80", PortMapping{HostIP: "::1", HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "tcp"}, nil},
		{"[::1]::80/sctp", PortMapping{HostIP: "::1", ContainerPort: 80, Range: 1, Protocol: "sctp"}, nil},
		{"8000-8010:9000-9010", PortMapping{HostPort: 8000, ContainerPort: 9000, Range: 11, Protocol: "tcp"}, nil},
		{"9000-9010", PortMapping{ContainerPort: 9000, Range: 11, Protocol: "tcp"}, nil},
		{"8000-8001:9000-9010", PortMapping{}, define.ErrInvalidArg},
		{"9010-9000", PortMapping{}, define.ErrInvalidArg},
		{"0", PortMapping{}, define.ErrInvalidArg},
		{"65536", PortMapping{}, define.ErrInvalidArg},
		{"http", PortMapping{}, define.ErrInvalidArg},
		{"80/icmp", PortMapping{}, define.ErrInvalidArg},
		{"1.2.3:80:80", PortMapping{}, define.ErrInvalidArg},
		{"::1:80:80", PortMapping{}, define.ErrInvalidArg},
		{"[::1:80:80", PortMapping{}, define.ErrInvalidArg},
		{"[::1]:80", PortMapping{}, define.ErrInvalidArg},
		{"", PortMapping{}, define.ErrInvalidArg},
	} {
		got, err := ParsePortSpec(tc.in)
		wantErr(t, err, tc.err, "-p")
		if got != tc.want {
			t.Errorf("ParsePortSpec(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseExpose(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
		say  string
	}{
		{in: "80", want: []string{"80/tcp"}},
		{in: "53/udp", want: []string{"53/udp"}},
		{in: "8000-8002/tcp", want: []string{"8000/tcp", "8001/tcp", "8002/tcp"}},
		{in: "5000/tcp,udp", want: []string{"5000/tcp", "5000/udp"}},
		{in: "9/sctp", want: []string{"9/sctp"}},
		{in: "65535", want: []string{"65535/tcp"}},
		{in: "0", say: "invalid port"},
		{in: "65536", say: "invalid port"},
		{in: "http", say: "invalid port"},
		{in: "90-80", say: "invalid port"},
		{in: "8080:80", say: "invalid port"},
		{in: "80/icmp", say: "unknown protocol"},
		{in: "80/tcp/udp", say: "unknown protocol"},
		{in: "", say: "invalid port"},
	} {
		got, err := ParseExpose(tc.in)
		if tc.say != "" {
			wantErr(t, err, define.ErrInvalidArg, "--expose", tc.say)
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseExpose(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestExposedPorts(t *testing.T) {
	t.Parallel()
	img := imgspec.ImageConfig{ExposedPorts: map[string]struct{}{"80/tcp": {}, "443": {}, "53/UDP": {}, "junk": {}}}
	for _, tc := range []struct {
		name   string
		img    imgspec.ImageConfig
		expose []string
		want   []string
	}{
		{"none", imgspec.ImageConfig{}, nil, nil},
		{"image only", img, nil, []string{"53/udp", "80/tcp", "443/tcp"}},
		{"expose only", imgspec.ImageConfig{}, []string{"9000-9001/udp,tcp", "8080"}, []string{"8080/tcp", "9000/tcp", "9000/udp", "9001/tcp", "9001/udp"}},
		{"both, once each", img, []string{"80", "8080"}, []string{"53/udp", "80/tcp", "443/tcp", "8080/tcp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ExposedPorts(&SpecGenerator{Expose: tc.expose}, tc.img); !slices.Equal(got, tc.want) {
				t.Errorf("ExposedPorts = %q, want %q", got, tc.want)
			}
		})
	}
}
