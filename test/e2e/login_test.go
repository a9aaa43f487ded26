package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/engine-oss/engine/test/testimage"
)

// authEntries reads the registries an auth.json holds credentials for.
func authEntries(t *testing.T, path string) map[string]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Auths map[string]json.RawMessage `json:"auths"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f.Auths
}

func TestLoginLogout(t *testing.T) {
	t.Parallel()
	reg := authRegistry(t)
	ref := pushTestImage(t, reg, uniqueName(t)+":v1", testimage.Options{})
	e := newEngine(t)
	authFile := filepath.Join(t.TempDir(), "auth.json")
	af := []string{"--authfile", authFile}

	r := e.MustFail(125, append([]string{"login", "--get-login"}, append(af, reg.Addr)...)...)
	if !strings.Contains(r.Stderr, "not logged in to "+reg.Addr) {
		t.Errorf("--get-login before login: stderr %q", r.Stderr)
	}

	out := e.Must(append([]string{"login", "--cert-dir", reg.CertDir, "-u", reg.User, "-p", reg.Password}, append(af, reg.Addr)...)...)
	if strings.TrimSpace(out) != "Login Succeeded!" {
		t.Errorf("login printed %q, want Login Succeeded!", out)
	}
	if _, ok := authEntries(t, authFile)[reg.Addr]; !ok {
		t.Fatalf("%s holds no credentials for %s", authFile, reg.Addr)
	}
	if got := strings.TrimSpace(e.Must(append([]string{"login", "--get-login"}, append(af, reg.Addr)...)...)); got != reg.User {
		t.Errorf("--get-login printed %q, want %q", got, reg.User)
	}
	// Stored credentials serve pulls without --creds.
	e.Must(append([]string{"pull", "-q", "--cert-dir", reg.CertDir}, append(af, ref)...)...)
	// A second login without credentials checks the stored ones.
	out = e.Must(append([]string{"login", "--cert-dir", reg.CertDir}, append(af, reg.Addr)...)...)
	if !strings.Contains(out, "Already logged in to "+reg.Addr) {
		t.Errorf("second login printed %q, want Already logged in", out)
	}

	out = e.Must(append([]string{"logout"}, append(af, reg.Addr)...)...)
	if strings.TrimSpace(out) != "Removed login credentials for "+reg.Addr {
		t.Errorf("logout printed %q", out)
	}
	if _, ok := authEntries(t, authFile)[reg.Addr]; ok {
		t.Errorf("%s still holds credentials for %s after logout", authFile, reg.Addr)
	}
	e.MustFail(125, append([]string{"login", "--get-login"}, append(af, reg.Addr)...)...)
	r = e.MustFail(125, append([]string{"logout"}, append(af, reg.Addr)...)...)
	if !strings.Contains(r.Stderr, "not logged in to "+reg.Addr) {
		t.Errorf("second logout: stderr %q", r.Stderr)
	}
	e.MustFail(125, append([]string{"pull", "-q", "--cert-dir", reg.CertDir}, append(af, ref)...)...)
}

func TestLoginPasswordStdinAndDefaultAuthFile(t *testing.T) {
	t.Parallel()
	reg := authRegistry(t)
	e := newEngine(t)
	// newEngine points REGISTRY_AUTH_FILE into the test's directory.
	authFile := ""
	for _, kv := range e.Env {
		if v, ok := strings.CutPrefix(kv, "REGISTRY_AUTH_FILE="); ok {
			authFile = v
		}
	}
	r := e.RunStdin(strings.NewReader(reg.Password+"\n"), "login", "--cert-dir", reg.CertDir, "--username", reg.User, "--password-stdin", reg.Addr)
	if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != "Login Succeeded!" {
		t.Fatalf("login --password-stdin: exit %d, stdout %q, stderr %q", r.ExitCode, r.Stdout, r.Stderr)
	}
	if _, ok := authEntries(t, authFile)[reg.Addr]; !ok {
		t.Errorf("$REGISTRY_AUTH_FILE %s holds no credentials for %s", authFile, reg.Addr)
	}
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	reg := authRegistry(t)
	e := newEngine(t)
	authFile := filepath.Join(t.TempDir(), "auth.json")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong password", []string{"--cert-dir", reg.CertDir, "-u", reg.User, "-p", "wrong"}, "invalid user name or password"},
		{"unknown user", []string{"--cert-dir", reg.CertDir, "-u", "nobody", "-p", reg.Password}, "authentication failed"},
		{"self-signed", []string{"-u", reg.User, "-p", reg.Password}, "--cert-dir"},
		{"no credentials, no terminal", []string{"--cert-dir", reg.CertDir}, "--password-stdin"},
		{"password-stdin without user", []string{"--cert-dir", reg.CertDir, "--password-stdin"}, "--username"},
	} {
		r := e.MustFail(125, append(append([]string{"login", "--authfile", authFile}, tc.args...), reg.Addr)...)
		if !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("%s: stderr %q lacks %q", tc.name, r.Stderr, tc.want)
		}
	}
	if entries := authEntries(t, authFile); len(entries) != 0 {
		t.Errorf("failed logins stored credentials: %v", entries)
	}
	r := e.MustFail(125, "login", "--authfile", authFile, "-u", "x", "-p", "y")
	if !strings.Contains(r.Stderr, "registry") {
		t.Errorf("login without a registry: stderr %q should ask for one", r.Stderr)
	}
}

func TestLogoutAll(t *testing.T) {
	t.Parallel()
	reg := authRegistry(t)
	e := newEngine(t)
	authFile := filepath.Join(t.TempDir(), "auth.json")
	e.Must("login", "--authfile", authFile, "--cert-dir", reg.CertDir, "-u", reg.User, "-p", reg.Password, reg.Addr)
	e.Must("login", "--authfile", authFile, "--cert-dir", reg.CertDir, "-u", reg.User, "-p", reg.Password, reg.Addr+"/team/app")
	if n := len(authEntries(t, authFile)); n != 2 {
		t.Fatalf("auth file holds %d entries, want 2", n)
	}
	if out := e.Must("logout", "--authfile", authFile, "--all"); strings.TrimSpace(out) != "Removed login credentials for all registries" {
		t.Errorf("logout --all printed %q", out)
	}
	if n := len(authEntries(t, authFile)); n != 0 {
		t.Errorf("auth file holds %d entries after logout --all", n)
	}
	e.MustFail(125, "logout", "--authfile", authFile, "--all", reg.Addr)
}
