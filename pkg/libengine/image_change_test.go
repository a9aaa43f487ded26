package libengine

import (
	"errors"
	"reflect"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestApplyChanges(t *testing.T) {
	t.Parallel()
	type set = map[string]struct{}
	for _, tc := range []struct {
		name    string
		start   imgspecv1.ImageConfig
		changes []string
		want    imgspecv1.ImageConfig
	}{
		{name: "none"},
		{name: "cmd exec form", changes: []string{`CMD ["/bin/echo", "hi there"]`},
			want: imgspecv1.ImageConfig{Cmd: []string{"/bin/echo", "hi there"}}},
		{name: "cmd shell form", changes: []string{`CMD echo "$HOME"`},
			want: imgspecv1.ImageConfig{Cmd: []string{"/bin/sh", "-c", `echo "$HOME"`}}},
		{name: "cmd bad json is shell form", changes: []string{`CMD [not json`},
			want: imgspecv1.ImageConfig{Cmd: []string{"/bin/sh", "-c", "[not json"}}},
		{name: "cmd empty array clears", start: imgspecv1.ImageConfig{Cmd: []string{"sh"}}, changes: []string{`CMD []`},
			want: imgspecv1.ImageConfig{Cmd: []string{}}},
		{name: "equals separator and lower case", changes: []string{`entrypoint=["/init"]`},
			want: imgspecv1.ImageConfig{Entrypoint: []string{"/init"}}},
		{name: "env pairs with quotes", changes: []string{`ENV A=1 B="two words" C='x y' D=a\ b`},
			want: imgspecv1.ImageConfig{Env: []string{"A=1", "B=two words", "C=x y", "D=a b"}}},
		{name: "env legacy form", changes: []string{`ENV GREETING hello   world`},
			want: imgspecv1.ImageConfig{Env: []string{"GREETING=hello world"}}},
		{name: "env replaces", start: imgspecv1.ImageConfig{Env: []string{"PATH=/bin", "X=1"}}, changes: []string{"ENV PATH=/usr/bin:/bin"},
			want: imgspecv1.ImageConfig{Env: []string{"PATH=/usr/bin:/bin", "X=1"}}},
		{name: "env empty value", changes: []string{"ENV EMPTY="},
			want: imgspecv1.ImageConfig{Env: []string{"EMPTY="}}},
		{name: "label", start: imgspecv1.ImageConfig{Labels: map[string]string{"a": "old"}}, changes: []string{`LABEL a=new "b c"="d e"`},
			want: imgspecv1.ImageConfig{Labels: map[string]string{"a": "new", "b c": "d e"}}},
		{name: "expose", changes: []string{"EXPOSE 80 53/udp 8000-8002/TCP"},
			want: imgspecv1.ImageConfig{ExposedPorts: set{"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}, "8002/tcp": {}}}},
		{name: "volume json", changes: []string{`VOLUME ["/data", "/logs"]`},
			want: imgspecv1.ImageConfig{Volumes: set{"/data": {}, "/logs": {}}}},
		{name: "volume words", changes: []string{`VOLUME /data /logs`},
			want: imgspecv1.ImageConfig{Volumes: set{"/data": {}, "/logs": {}}}},
		{name: "workdir relative", start: imgspecv1.ImageConfig{WorkingDir: "/srv"}, changes: []string{"WORKDIR app", "WORKDIR ../x"},
			want: imgspecv1.ImageConfig{WorkingDir: "/srv/x"}},
		{name: "workdir absolute", start: imgspecv1.ImageConfig{WorkingDir: "/srv"}, changes: []string{"WORKDIR /opt//app/"},
			want: imgspecv1.ImageConfig{WorkingDir: "/opt/app"}},
		{name: "user", changes: []string{"USER nobody:nogroup"},
			want: imgspecv1.ImageConfig{User: "nobody:nogroup"}},
		{name: "stopsignal name", changes: []string{"STOPSIGNAL term"},
			want: imgspecv1.ImageConfig{StopSignal: "SIGTERM"}},
		{name: "stopsignal number", changes: []string{"STOPSIGNAL 9"},
			want: imgspecv1.ImageConfig{StopSignal: "9"}},
		{name: "in order", changes: []string{"CMD a", "CMD [\"b\"]"},
			want: imgspecv1.ImageConfig{Cmd: []string{"b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.start
			if err := ApplyChanges(&cfg, tc.changes); err != nil {
				t.Fatalf("ApplyChanges(%q): %v", tc.changes, err)
			}
			if !reflect.DeepEqual(cfg, tc.want) {
				t.Errorf("ApplyChanges(%q)\n got %+v\nwant %+v", tc.changes, cfg, tc.want)
			}
		})
	}
}

func TestApplyChangesErrors(t *testing.T) {
	t.Parallel()
	for _, change := range []string{
		"",
		"CMD",
		"RUN make",
		"ONBUILD RUN x",
		"=x",
		"CMD:x",
		"ENV =x",
		"ENV KEY",
		"ENV A=1 B",
		`ENV A="unterminated`,
		"EXPOSE 0",
		"EXPOSE 70000",
		"EXPOSE 80/icmp",
		"EXPOSE 90-80",
		"EXPOSE http",
		"WORKDIR a b",
		"USER a b",
		"STOPSIGNAL SIGNOPE",
		"STOPSIGNAL 65",
		`VOLUME [""]`,
	} {
		t.Run(change, func(t *testing.T) {
			t.Parallel()
			var cfg imgspecv1.ImageConfig
			err := ApplyChanges(&cfg, []string{change})
			if !errors.Is(err, define.ErrInvalidArg) {
				t.Errorf("ApplyChanges(%q) = %v, want an error wrapping ErrInvalidArg", change, err)
			}
		})
	}
}

func TestShellWords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  a  b ", []string{"a", "b"}},
		{`"a b" 'c d'`, []string{"a b", "c d"}},
		{`a\ b`, []string{"a b"}},
		{`"say \"hi\" \n"`, []string{`say "hi" \n`}},
		{`'no \escape'`, []string{`no \escape`}},
		{`""`, []string{""}},
		{`x=""`, []string{"x="}},
	} {
		got, err := shellWords(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("shellWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
