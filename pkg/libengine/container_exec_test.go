package libengine

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestExecProcess(t *testing.T) {
	t.Parallel()
	umask := uint32(0o022)
	defaults := []string{"CAP_CHOWN", "CAP_KILL"}
	ctrProc := &specs.Process{
		Args: []string{"sleep", "1000"},
		Env:  []string{"PATH=/bin", "HOME=/root", "KEEP=1"},
		Cwd:  "/",
		User: specs.User{UID: 0, GID: 0, Umask: &umask},
		Capabilities: &specs.LinuxCapabilities{
			Bounding: defaults, Effective: defaults, Permitted: defaults,
		},
		NoNewPrivileges: true,
	}
	passwd := []byte("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:100:Alice:/home/alice:/bin/sh\n")
	group := []byte("root:x:0:\nusers:x:100:\nextra:x:200:alice\n")
	all := []string{"CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"}
	for _, tc := range []struct {
		name    string
		opts    ContainerExecOptions
		check   func(t *testing.T, p *specs.Process)
		wantErr error
	}{
		{name: "container's defaults", opts: ContainerExecOptions{Cmd: []string{"ls"}},
			check: func(t *testing.T, p *specs.Process) {
				if !reflect.DeepEqual(p.Args, []string{"ls"}) || !reflect.DeepEqual(p.Env, ctrProc.Env) || p.Cwd != "/" ||
					p.User.UID != 0 || !p.NoNewPrivileges || !reflect.DeepEqual(p.Capabilities.Effective, defaults) {
					t.Errorf("got %+v", p)
				}
			}},
		{name: "env, workdir and tty", opts: ContainerExecOptions{Cmd: []string{"sh"}, Env: map[string]string{"KEEP": "2", "NEW": "n"}, WorkDir: "/tmp", Tty: true},
			check: func(t *testing.T, p *specs.Process) {
				if want := []string{"PATH=/bin", "HOME=/root", "KEEP=2", "NEW=n"}; !reflect.DeepEqual(p.Env, want) || p.Cwd != "/tmp" || !p.Terminal {
					t.Errorf("got env %q cwd %q terminal %v", p.Env, p.Cwd, p.Terminal)
				}
			}},
		{name: "named user loses capabilities and gets its home", opts: ContainerExecOptions{Cmd: []string{"id"}, User: "alice"},
			check: func(t *testing.T, p *specs.Process) {
				if p.User.UID != 1000 || p.User.GID != 100 || !reflect.DeepEqual(p.User.AdditionalGids, []uint32{200}) || p.User.Umask != &umask {
					t.Errorf("user %+v", p.User)
				}
				if v, _ := envValue(p.Env, "HOME"); v != "/home/alice" {
					t.Errorf("HOME=%q", v)
				}
				if len(p.Capabilities.Effective) != 0 || !reflect.DeepEqual(p.Capabilities.Bounding, defaults) {
					t.Errorf("capabilities %+v", p.Capabilities)
				}
			}},
		{name: "HOME given wins", opts: ContainerExecOptions{Cmd: []string{"id"}, User: "alice", Env: map[string]string{"HOME": "/x"}},
			check: func(t *testing.T, p *specs.Process) {
				if v, _ := envValue(p.Env, "HOME"); v != "/x" {
					t.Errorf("HOME=%q", v)
				}
			}},
		{name: "numeric user and group", opts: ContainerExecOptions{Cmd: []string{"id"}, User: "1234:5678"},
			check: func(t *testing.T, p *specs.Process) {
				if p.User.UID != 1234 || p.User.GID != 5678 {
					t.Errorf("user %+v", p.User)
				}
			}},
		{name: "privileged", opts: ContainerExecOptions{Cmd: []string{"id"}, Privileged: true},
			check: func(t *testing.T, p *specs.Process) {
				c := p.Capabilities
				if !reflect.DeepEqual(c.Bounding, all) || !reflect.DeepEqual(c.Effective, all) || !reflect.DeepEqual(c.Permitted, all) {
					t.Errorf("capabilities %+v", c)
				}
			}},
		{name: "unknown user", opts: ContainerExecOptions{Cmd: []string{"id"}, User: "bob"}, wantErr: define.ErrInvalidArg},
		{name: "relative workdir", opts: ContainerExecOptions{Cmd: []string{"id"}, WorkDir: "tmp"}, wantErr: define.ErrInvalidArg},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := execProcess(ctrProc, tc.opts, all, passwd, group)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, p)
			if !reflect.DeepEqual(ctrProc.Env, []string{"PATH=/bin", "HOME=/root", "KEEP=1"}) || !reflect.DeepEqual(ctrProc.Capabilities.Effective, defaults) {
				t.Fatal("the container's process was changed")
			}
		})
	}
}

// envValue returns the value of key in a KEY=VALUE list.
func envValue(env []string, key string) (string, bool) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}
