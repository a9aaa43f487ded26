package registry

import (
	"context"
	"net/http"
	"os"
	"testing"
)

func TestStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts Options
		// anonymous is the status of an unauthenticated GET /v2/.
		anonymous int
	}{
		{"plain", Options{}, http.StatusOK},
		{"tls", Options{TLS: true}, http.StatusOK},
		{"auth", Options{Htpasswd: map[string]string{"bob": "pw-b", "alice": "pw-a"}}, http.StatusUnauthorized},
		{"tls+auth", Options{TLS: true, Htpasswd: map[string]string{"tester": "secret"}}, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := Start(context.Background(), t.TempDir(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.Stop)
			if got := status(t, r, "", ""); got != tc.anonymous {
				t.Errorf("anonymous GET /v2/: %d, want %d", got, tc.anonymous)
			}
			if (r.CertDir != "") != tc.opts.TLS {
				t.Errorf("CertDir %q with TLS=%v", r.CertDir, tc.opts.TLS)
			}
			if tc.opts.TLS {
				if _, err := os.Stat(r.CertDir + "/ca.crt"); err != nil {
					t.Error(err)
				}
			}
			if tc.opts.Htpasswd == nil {
				return
			}
			if r.User == "" || tc.opts.Htpasswd[r.User] != r.Password {
				t.Errorf("User/Password %q/%q not from %v", r.User, r.Password, tc.opts.Htpasswd)
			}
			if got := status(t, r, r.User, r.Password); got != http.StatusOK {
				t.Errorf("GET /v2/ as %s: %d, want 200", r.User, got)
			}
			if got := status(t, r, r.User, "wrong"); got != http.StatusUnauthorized {
				t.Errorf("GET /v2/ with a wrong password: %d, want 401", got)
			}
		})
	}
}

func status(t *testing.T, r *Registry, user, password string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, r.URL("/v2/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := r.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestStopTwice(t *testing.T) {
	t.Parallel()
	r, err := Start(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Stop()
	r.Stop()
	if _, err := r.Client().Get(r.URL("/v2/")); err == nil {
		t.Error("registry still answers after Stop")
	}
}
