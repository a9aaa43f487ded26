package monitor

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The monitor's own JSON code must agree with encoding/json, which the
// engine may use to read the same files.
func TestConfigRoundTrip(t *testing.T) {
	t.Parallel()
	cfg := Config{
		ID: "abc", Bundle: "/run/b", RuntimePath: "/usr/sbin/runc", RuntimeStateDir: "/run/runc",
		Terminal: true, Stdin: true, LogDriver: LogDriverJSONFile, LogPath: "/var/log/\"quoted\"\\path\n",
		LogMaxSize: 1 << 40, AttachSocket: "/run/a", ExitFile: "/run/exit", PidFile: "/run/pid",
		ExitCommand:  []string{"/usr/bin/engine", "--root", "/tmp/ünïcödé ☃ 𝄞", "\x01\x7f<&>\u2028"},
		NotifySocket: "@/org/systemd/notify", NotifyMode: NotifyContainer, NotifyProxy: "/run/b/notify/notify.sock",
		HealthCommand: []string{"/usr/bin/engine", "healthcheck", "run", "abc"}, HealthInterval: 1500 * time.Millisecond,
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := cfg.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, cfg) {
		t.Errorf("round trip:\n got %+v\nwant %+v", *got, cfg)
	}
	// encoding/json reads what WriteFile wrote, and the reverse.
	data, _ := os.ReadFile(path)
	var viaStd Config
	if err := json.Unmarshal(data, &viaStd); err != nil || !reflect.DeepEqual(viaStd, cfg) {
		t.Errorf("encoding/json read %+v, %v", viaStd, err)
	}
	data, err = json.MarshalIndent(&cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got, err = decodeConfig(data)
	if err != nil || !reflect.DeepEqual(*got, cfg) {
		t.Errorf("decodeConfig of encoding/json output: %+v, %v", got, err)
	}
}

func TestReadConfigErrors(t *testing.T) {
	t.Parallel()
	valid := `"id":"a","bundle":"/b","runtimePath":"/r","exitFile":"/e","pidFile":"/p","logPath":"/l"`
	tests := []struct{ name, data, want string }{
		{"valid with unknown keys", `{` + valid + `,"x":{"y":[1,2.5e3,true,null,"s"]}}`, ""},
		{"missing id", `{"bundle":"/b"}`, "id is required"},
		{"relative runtime", `{"id":"a","bundle":"/b","runtimePath":"runc"}`, "runtimePath must be an absolute path"},
		{"log path needed", `{` + strings.Replace(valid, `,"logPath":"/l"`, "", 1) + `}`, "logPath is required"},
		{"bad driver", `{` + valid + `,"logDriver":"syslog"}`, "unknown log driver syslog"},
		{"passthrough terminal", `{` + valid + `,"logDriver":"passthrough","terminal":true}`, "cannot be used with a terminal"},
		{"relative exit command", `{` + valid + `,"exitCommand":["engine"]}`, "exitCommand must start with an absolute path"},
		{"health without interval", `{` + valid + `,"healthCommand":["/e"]}`, "healthInterval be positive"},
		{"bad notify mode", `{` + valid + `,"notifyMode":"soon"}`, "unknown notifyMode soon"},
		{"container mode without proxy", `{` + valid + `,"notifySocket":"/n","notifyMode":"container"}`, "notifyProxy is required"},
		{"truncated", `{"id":"a`, "invalid JSON"},
		{"trailing garbage", `{` + valid + `} x`, "invalid JSON"},
		{"wrong type", `{"id":1}`, "invalid JSON"},
		{"bad escape", `{"id":"\q"}`, "invalid JSON"},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "c.json")
		if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := ReadConfig(path)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := ReadConfig(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing config: %v", err)
	}
}

func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", "tab\tquote\"back\\slash", "\x00\x1f\x7f", "<html>&", "ünï ☃ 𝄞", "\u2028\u2029", "bad \xff\xfe utf8"} {
		got := appendJSONString(nil, []byte(s), false)
		want, _ := json.Marshal(s)
		if string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
		r := &jsonReader{b: got}
		back, err := r.str()
		var viaStd string
		_ = json.Unmarshal(got, &viaStd)
		if err != nil || back != viaStd {
			t.Errorf("jsonReader.str(%s) = %q, %v; want %q", got, back, err, viaStd)
		}
	}
	if got := appendJSONString(nil, []byte("line"), true); string(got) != `"line\n"` {
		t.Errorf("with newline: %s", got)
	}
}

func TestExitFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "exit")
	if _, err := ReadExitFile(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing exit file: %v", err)
	}
	want := ExitStatus{ExitCode: 137, FinishedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), OOMKilled: true}
	if err := writeExitFile(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadExitFile(path)
	if err != nil || *got != want {
		t.Fatalf("ReadExitFile = %+v, %v; want %+v", got, err, want)
	}
	data, _ := os.ReadFile(path)
	var viaStd ExitStatus
	if err := json.Unmarshal(data, &viaStd); err != nil || viaStd != want {
		t.Errorf("encoding/json read %+v, %v", viaStd, err)
	}
}

func TestCreateError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		msg  string
		want error
	}{
		{`runc create failed: unable to start container process: exec: "nosuch": executable file not found in $PATH`, ErrCommandNotFound},
		{`runc create failed: unable to start container process: exec: "/nosuch": stat /nosuch: no such file or directory`, ErrCommandNotFound},
		{"executable file `nosuch` not found in $PATH: No such file or directory", ErrCommandNotFound},
		{`runc create failed: unable to start container process: exec: "/etc/passwd": permission denied`, ErrCommandNotExecutable},
		{`runc create failed: unable to start container process: error during container init: error mounting "proc": no such file or directory`, ErrRuntimeCreate},
		{"container with given ID already exists", ErrRuntimeCreate},
	}
	for _, tt := range tests {
		err := createError(tt.msg)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("createError(%q) = %v, want it to wrap %v", tt.msg, err, tt.want)
		}
	}
}
