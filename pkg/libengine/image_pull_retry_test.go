package libengine

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/docker/distribution/registry/api/errcode"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"go.podman.io/image/v5/docker"
)

// urlErr wraps err as a failed registry request does.
func urlErr(err error) error {
	return fmt.Errorf("image docker.io/library/x: %w",
		&url.Error{Op: "Get", URL: "https://registry.example/v2/", Err: err})
}

func TestTransientPullError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), true},
		{"connection reset", urlErr(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), true},
		{"network unreachable", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}), true},
		{"timeout", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}), true},
		{"closed mid-transfer", fmt.Errorf("reading blob: %w", io.ErrUnexpectedEOF), true},
		{"EOF on connect", urlErr(io.EOF), true},
		{"temporary DNS failure", urlErr(&net.DNSError{Err: "server misbehaving", Name: "registry.example", IsTemporary: true}), true},
		{"unknown host", urlErr(&net.DNSError{Err: "no such host", Name: "registry.example", IsNotFound: true}), false},
		{"502", docker.UnexpectedHTTPStatusError{StatusCode: 502}, true},
		{"503", fmt.Errorf("copy: %w", docker.UnexpectedHTTPStatusError{StatusCode: 503}), true},
		{"429", docker.UnexpectedHTTPStatusError{StatusCode: 429}, true},
		{"404", docker.UnexpectedHTTPStatusError{StatusCode: 404}, false},
		{"500", docker.UnexpectedHTTPStatusError{StatusCode: 500}, false},
		{"too many requests", errcode.ErrorCodeTooManyRequests.WithMessage("slow down"), true},
		{"unavailable", errcode.ErrorCodeUnavailable.WithMessage("down"), true},
		{"unauthorized", errcode.ErrorCodeUnauthorized.WithMessage("who are you"), false},
		{"denied", fmt.Errorf("x: %w", errcode.ErrorCodeDenied.WithMessage("no")), false},
		{"no such image", fmt.Errorf("image x: %w", define.ErrNoSuchImage), false},
		{"bad certificate", urlErr(x509.UnknownAuthorityError{}), false},
		{"cancelled", urlErr(context.Canceled), false},
		{"cancelled while the connection failed", errors.Join(context.Canceled, syscall.ECONNRESET), false},
		{"anything else", errors.New("manifest is not valid JSON"), false},
	} {
		if got := transientPullError(tc.err); got != tc.want {
			t.Errorf("%s: transientPullError(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestRetryTransient(t *testing.T) {
	t.Parallel()
	transient := urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})
	permanent := fmt.Errorf("image x: %w", define.ErrNoSuchImage)
	for _, tc := range []struct {
		name    string
		results []error // what each call returns; the last repeats
		retries uint
		calls   int
		want    error
	}{
		{"success", []error{nil}, 3, 1, nil},
		{"transient, then success", []error{transient, transient, nil}, 3, 3, nil},
		{"transient every time", []error{transient}, 2, 3, transient},
		{"no retries", []error{transient}, 0, 1, transient},
		{"permanent", []error{permanent}, 3, 1, permanent},
		{"transient, then permanent", []error{transient, permanent}, 3, 2, permanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			err := retryTransient(t.Context(), tc.retries, time.Millisecond, "pull x", func() error {
				calls++
				return tc.results[min(calls, len(tc.results))-1]
			})
			if calls != tc.calls || !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("%d calls, error %v; want %d calls, error %v", calls, err, tc.calls, tc.want)
			}
		})
	}

	// A context that ends stops the wait at once.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := 0
	start := time.Now()
	err := retryTransient(ctx, 3, time.Hour, "pull x", func() error { calls++; return transient })
	if calls != 1 || !errors.Is(err, context.Canceled) || !errors.Is(err, syscall.ECONNREFUSED) || time.Since(start) > time.Minute {
		t.Errorf("cancelled: %d calls, error %v", calls, err)
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		attempt uint
		fixed   time.Duration
		want    time.Duration
	}{
		{0, 0, 2 * time.Second},
		{1, 0, 4 * time.Second},
		{2, 0, 8 * time.Second},
		{7, 0, 256 * time.Second},
		{8, 0, maxPullRetryDelay},
		{1000, 0, maxPullRetryDelay},
		{0, 500 * time.Millisecond, 500 * time.Millisecond},
		{5, 10 * time.Second, 10 * time.Second},
	} {
		if got := retryDelay(tc.attempt, tc.fixed); got != tc.want {
			t.Errorf("retryDelay(%d, %s) = %s, want %s", tc.attempt, tc.fixed, got, tc.want)
		}
	}
}
