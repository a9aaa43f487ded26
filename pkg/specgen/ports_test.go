package specgen

import (
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
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
