// Package registry owns the real registries tests push to and pull from: a
// Debian docker-registry (distribution v2) process per Registry, on a free
// 127.0.0.1 port, with filesystem storage under a directory the caller
// owns, optional TLS from a throw-away CA, and optional htpasswd auth.
package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/crypto/bcrypt"
)

// Binary is the registry program Start runs.
const Binary = "/usr/bin/docker-registry"

// startTimeout bounds how long Start waits for /v2/ to answer.
const startTimeout = 30 * time.Second

// Options configure a registry.
type Options struct {
	// TLS serves HTTPS with a certificate for 127.0.0.1, ::1 and localhost
	// signed by a CA written to Registry.CertDir.
	TLS bool
	// Htpasswd maps users to passwords and turns on basic auth.
	Htpasswd map[string]string
}

// Registry is a running registry. Its fields are read-only.
type Registry struct {
	// Addr is "127.0.0.1:PORT", the host part of image references.
	Addr string
	// Root is the storage root: blobs live under docker/registry/v2/blobs.
	Root string
	// CertDir holds ca.crt, usable as --cert-dir; empty without TLS.
	CertDir string
	// User and Password are the first user (by name) of Options.Htpasswd;
	// empty without auth.
	User, Password string

	cmd      *exec.Cmd
	out      *syncBuffer
	exited   chan struct{}
	pool     *x509.CertPool
	stopOnce sync.Once
}

// Start runs a registry with its configuration, storage and certificates in
// dir, and returns once it answers on /v2/. ctx bounds the start only; the
// process runs until Stop. The error includes the registry's output if it
// dies while starting.
func Start(ctx context.Context, dir string, opts Options) (*Registry, error) {
	if _, err := os.Stat(Binary); err != nil {
		return nil, fmt.Errorf("registry: %s not found: install Debian package docker-registry", Binary)
	}
	r := &Registry{Root: filepath.Join(dir, "storage")}
	if err := os.MkdirAll(r.Root, 0o755); err != nil {
		return nil, err
	}
	var tlsCfg, authCfg string
	if opts.TLS {
		certFile, keyFile, err := r.writeCerts(dir)
		if err != nil {
			return nil, err
		}
		tlsCfg = fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", certFile, keyFile)
	}
	if len(opts.Htpasswd) > 0 {
		file, err := r.writeHtpasswd(dir, opts.Htpasswd)
		if err != nil {
			return nil, err
		}
		authCfg = fmt.Sprintf("auth:\n  htpasswd:\n    realm: engine-test\n    path: %s\n", file)
	}
	// A port freed here may be taken before the registry binds it; retry.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = r.start(ctx, dir, tlsCfg, authCfg); err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Registry) start(ctx context.Context, dir, tlsCfg, authCfg string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	r.Addr = l.Addr().String()
	_ = l.Close()

	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: engine-test-secret
%s%s`, r.Root, r.Addr, tlsCfg, authCfg)
	configFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		return err
	}

	r.out = &syncBuffer{}
	r.exited = make(chan struct{})
	r.cmd = exec.Command(Binary, "serve", configFile)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	// Its own process group, and death with the test binary's thread, so a
	// crashed test leaves no registry behind.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("registry: start %s: %w", Binary, err)
	}
	go func() {
		_ = r.cmd.Wait()
		close(r.exited)
	}()

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := r.Client()
	client.Timeout = time.Second
	for {
		resp, err := client.Get(r.URL("/v2/"))
		if err == nil {
			_ = resp.Body.Close()
			return nil // 200, or 401 with auth: it serves.
		}
		select {
		case <-r.exited:
			return fmt.Errorf("registry: %s exited while starting on %s: %s", Binary, r.Addr, strings.TrimSpace(r.out.String()))
		case <-ctx.Done():
			r.Stop()
			return fmt.Errorf("registry: no answer on %s within %s (%w): %s", r.URL("/v2/"), startTimeout, ctx.Err(), strings.TrimSpace(r.out.String()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends the registry, politely first. It is safe to call twice; the
// storage stays until the caller removes dir.
func (r *Registry) Stop() {
	r.stopOnce.Do(func() {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
			<-r.exited
		}
	})
}

// URL is the registry's base URL, http or https, followed by path.
func (r *Registry) URL(path string) string {
	scheme := "http"
	if r.CertDir != "" {
		scheme = "https"
	}
	return scheme + "://" + r.Addr + path
}

// Client returns an HTTP client that trusts the registry's CA, if any.
func (r *Registry) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: r.pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// BlobPath is the file holding blob d in the registry's storage; overwrite
// it (see testimage.CorruptBlob) to make the registry serve a corrupt blob.
func (r *Registry) BlobPath(d digest.Digest) string {
	enc := d.Encoded()
	return filepath.Join(r.Root, "docker", "registry", "v2", "blobs", d.Algorithm().String(), enc[:2], enc, "data")
}

func (r *Registry) writeHtpasswd(dir string, users map[string]string) (string, error) {
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, u := range names {
		// The registry checks the hash on every request: keep it cheap.
		h, err := bcrypt.GenerateFromPassword([]byte(users[u]), bcrypt.MinCost)
		if err != nil {
			return "", fmt.Errorf("registry: hash password of %s: %w", u, err)
		}
		fmt.Fprintf(&b, "%s:%s\n", u, h)
	}
	r.User, r.Password = names[0], users[names[0]]
	file := filepath.Join(dir, "htpasswd")
	return file, os.WriteFile(file, []byte(b.String()), 0o600)
}

// syncBuffer collects the registry's output from two pipes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
