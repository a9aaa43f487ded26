package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/specgen"
)

func TestPrintStats(t *testing.T) {
	t.Parallel()
	st := libengine.ContainerStats{ContainerID: "0123456789abcdef", Name: "web", CPU: 12.345, AvgCPU: 1.5,
		UpTime: 1500 * time.Millisecond, MemUsage: 1_500_000, MemLimit: 100_000_000, MemPerc: 1.5,
		BlockInput: 4096, PIDs: 2}
	tests := []struct {
		name string
		opts statsOptions
		want string
	}{
		{"table", statsOptions{},
			"ID            NAME  CPU %   MEM USAGE / LIMIT  MEM %  NET IO   BLOCK IO      PIDS  CPU TIME  AVG CPU %\n" +
				"0123456789ab  web   12.35%  1.5MB / 100MB      1.50%  -- / --  4.096kB / 0B  2     1.5s      1.50%\n"},
		{"template", statsOptions{format: "{{.Name}} {{.MemUsage}} {{.PIDS}}", noTrunc: true}, "web 1.5MB / 100MB 2\n"},
		{"json", statsOptions{format: "json"}, `"mem_usage": "1.5MB / 100MB"`},
		{"stream clears the screen", statsOptions{ContainerStatsOptions: libengine.ContainerStatsOptions{Stream: true}, format: "{{.ID}}"}, "\033[2J\033[H0123456789ab\n"},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		if err := printStats(&buf, []libengine.ContainerStats{st}, &tc.opts); err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); !strings.Contains(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestPrintPorts(t *testing.T) {
	t.Parallel()
	reps := []libengine.ContainerPortReport{{ID: "0123456789abcdef", Ports: []specgen.PortMapping{
		{HostPort: 8080, ContainerPort: 80, Range: 2, Protocol: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 5353, ContainerPort: 53, Range: 1, Protocol: "tcp,udp"},
	}}}
	tests := []struct {
		port    string
		all     bool
		want    string
		wantErr bool
	}{
		{"", false, "80/tcp -> 0.0.0.0:8080\n81/tcp -> 0.0.0.0:8081\n53/tcp -> 127.0.0.1:5353\n53/udp -> 127.0.0.1:5353\n", false},
		{"", true, "0123456789ab\t80/tcp -> 0.0.0.0:8080\n", false},
		{"81", false, "0.0.0.0:8081\n", false},
		{"53/udp", false, "127.0.0.1:5353\n", false},
		{"443", false, "", true},
		{"http", false, "", true},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		err := printPorts(&buf, reps, tc.port, tc.all)
		if (err != nil) != tc.wantErr || !strings.HasPrefix(buf.String(), tc.want) {
			t.Errorf("port %q all=%v: %q, %v", tc.port, tc.all, buf.String(), err)
		}
	}
	var buf bytes.Buffer
	if err := printPorts(&buf, nil, "", false); err != nil || buf.Len() != 0 {
		t.Errorf("no ports: %q, %v", buf.String(), err)
	}
}

func TestPrintTop(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := printTop(&buf, []string{"USER\tPID\tCOMMAND", "root\t1\tsleep 1000"}); err != nil {
		t.Fatal(err)
	}
	if want := "USER        PID         COMMAND\nroot        1           sleep 1000\n"; buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}
