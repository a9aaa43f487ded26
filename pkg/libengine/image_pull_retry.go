package libengine

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/docker/distribution/registry/api/errcode"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/docker"
)

// DefaultPullRetries is how many times a pull is retried unless
// PullOptions.Retries says otherwise, as podman's containers.conf.
const DefaultPullRetries = 3

// Retry backoff without PullOptions.RetryDelay: 2 s, then doubled at each
// retry, at most maxPullRetryDelay.
const (
	firstPullRetryDelay = 2 * time.Second
	maxPullRetryDelay   = 5 * time.Minute
)

// retryTransient runs op, and runs it again up to retries more times while
// it fails with a transient error (transientPullError), waiting delay
// before each retry (0: the doubling backoff). A warning names what and the
// error before each wait. It returns op's last error, or ctx's error when
// ctx ends during a wait.
func retryTransient(ctx context.Context, retries uint, delay time.Duration, what string, op func() error) error {
	err := op()
	for attempt := uint(0); err != nil && attempt < retries && transientPullError(err); attempt++ {
		wait := retryDelay(attempt, delay)
		logrus.Warnf("%s failed, retrying in %s (%d/%d): %v", what, wait, attempt+1, retries, err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		err = op()
	}
	return err
}

// retryDelay is the wait before retry number attempt (from 0): fixed when
// set, else firstPullRetryDelay doubled attempt times, capped.
func retryDelay(attempt uint, fixed time.Duration) time.Duration {
	if fixed > 0 {
		return fixed
	}
	d := firstPullRetryDelay
	for range attempt {
		if d >= maxPullRetryDelay/2 {
			return maxPullRetryDelay
		}
		d *= 2
	}
	return d
}

// transientPullError reports whether a pull failed for a reason that may
// pass: the network (a refused, reset or unreachable connection, a
// timeout, a connection closed mid-transfer, a temporary DNS failure) or a
// registry that is overloaded (HTTP 429, 502, 503 or 504). A missing image,
// refused credentials, a bad certificate or a cancelled context are not.
func transientPullError(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var status docker.UnexpectedHTTPStatusError
	if errors.As(err, &status) {
		return status.StatusCode == http.StatusTooManyRequests ||
			(status.StatusCode >= http.StatusBadGateway && status.StatusCode <= http.StatusGatewayTimeout)
	}
	var coder errcode.ErrorCoder
	if errors.As(err, &coder) {
		c := coder.ErrorCode()
		return c == errcode.ErrorCodeTooManyRequests || c == errcode.ErrorCodeUnavailable
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTimeout || dns.IsTemporary
	}
	for _, errno := range []syscall.Errno{
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		syscall.ENETDOWN, syscall.ENETUNREACH, syscall.ENETRESET,
		syscall.EHOSTDOWN, syscall.EHOSTUNREACH, syscall.ETIMEDOUT,
	} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
