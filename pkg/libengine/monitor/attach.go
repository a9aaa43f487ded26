package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// inputChunk is the most stdin Attach sends in one frame: the monitor's
// buffer per client holds it without growing.
const inputChunk = 8 << 10

// ErrDetached is returned by Attach when the user typed the detach keys.
var ErrDetached = errors.New("detached from the container")

// DefaultDetachKeys is ctrl-p,ctrl-q.
var DefaultDetachKeys = []byte{16, 17}

// TerminalSize is a terminal's size in character cells.
type TerminalSize struct {
	Width, Height uint16
}

// AttachStreams connects a caller to a container's stdio.
type AttachStreams struct {
	// Stdin, when set, is copied to the container (which must have been
	// created with Config.Stdin); at its end the container's stdin is closed.
	Stdin io.Reader
	// Stdout and Stderr receive the container's output; nil discards it.
	// With a terminal everything arrives on Stdout.
	Stdout, Stderr io.Writer
	// Resize, when set, carries terminal size changes to the container's pty.
	Resize <-chan TerminalSize
	// Size, when set, is the caller's terminal size as the session begins:
	// a container started with the session gets it for its pty from the
	// start (OCI process.consoleSize), before any resize arrives.
	Size *TerminalSize
	// DetachKeys ends the attachment when typed on Stdin. Nil means
	// DefaultDetachKeys; an empty, non-nil slice disables detaching.
	DetachKeys []byte
	// Ready, when set, is closed once the monitor has registered this
	// client: everything the container writes from then on is delivered.
	Ready chan<- struct{}
}

// Attach connects to a monitor's attach socket and copies streams until
// the container's output ends (nil: the container exited and everything it
// wrote was delivered), the user types the detach keys (ErrDetached), or
// ctx ends (ctx.Err()). Attach may return while a goroutine is still blocked
// reading Stdin; it sends nothing more once Attach has returned.
func Attach(ctx context.Context, socketPath string, streams AttachStreams) error {
	conn, err := dialUnix(socketPath)
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	return attachConn(ctx, conn, streams)
}

// attachConn is Attach on a connection made, and closed when done.
func attachConn(ctx context.Context, conn *os.File, streams AttachStreams) error {
	defer func() { _ = conn.Close() }()
	fw := &frameWriter{w: conn}
	done := make(chan error, 2)
	stop := make(chan struct{})
	defer close(stop)

	go func() { done <- copyOutput(conn, streams.Stdout, streams.Stderr, streams.Ready) }()
	if streams.Stdin != nil {
		keys := streams.DetachKeys
		if keys == nil {
			keys = DefaultDetachKeys
		}
		go func() {
			if err := copyInput(fw, streams.Stdin, keys, stop); err != nil {
				done <- err
			}
		}()
	}
	if streams.Resize != nil {
		go func() {
			for {
				select {
				case <-stop:
					return
				case size, ok := <-streams.Resize:
					if !ok {
						return
					}
					if fw.write(frameResize, encodeSize(size)) != nil {
						return
					}
				}
			}
		}()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// copyOutput writes stdout and stderr frames to their writers until the
// monitor closes the connection, closing ready at the ready frame.
func copyOutput(conn io.Reader, stdout, stderr io.Writer, ready chan<- struct{}) error {
	buf := make([]byte, 32<<10)
	for {
		typ, payload, err := readFrame(conn, buf)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("attach: read from monitor: %w", err)
		}
		var w io.Writer
		switch typ {
		case frameReady:
			if ready != nil {
				close(ready)
				ready = nil
			}
		case frameStdout:
			w = stdout
		case frameStderr:
			w = stderr
		}
		if w == nil {
			continue
		}
		if _, err := w.Write(payload); err != nil {
			return fmt.Errorf("attach: write output: %w", err)
		}
	}
}

// copyInput sends stdin frames until in ends (then close-stdin), the detach
// keys are typed (ErrDetached), or stop is closed. It returns nil when the
// caller should keep waiting for output.
func copyInput(fw *frameWriter, in io.Reader, keys []byte, stop <-chan struct{}) error {
	d := detachScanner{keys: keys}
	buf := make([]byte, inputChunk)
	for {
		n, err := in.Read(buf)
		select {
		case <-stop:
			return nil
		default:
		}
		if n > 0 {
			out, detached := d.scan(buf[:n])
			if len(out) > 0 {
				if werr := fw.write(frameStdin, out); werr != nil {
					return nil // the monitor went away: output ends too
				}
			}
			if detached {
				return ErrDetached
			}
		}
		if err != nil {
			// Keys held back as a possible detach sequence were typed.
			if len(d.held) > 0 {
				_ = fw.write(frameStdin, d.held)
			}
			_ = fw.write(frameCloseStdin, nil)
			return nil
		}
	}
}

// detachScanner finds the detach sequence in input, holding back bytes that
// may begin it until the next bytes decide.
type detachScanner struct {
	keys []byte
	held []byte // always a proper prefix of keys
	out  []byte
}

// scan returns the bytes to forward (valid until the next call) and whether
// the sequence was completed; bytes after it are dropped.
func (d *detachScanner) scan(in []byte) ([]byte, bool) {
	if len(d.keys) == 0 {
		return in, false
	}
	out := d.out[:0]
	for _, c := range in {
		d.held = append(d.held, c)
		for len(d.held) > 0 && !bytes.HasPrefix(d.keys, d.held) {
			out = append(out, d.held[0])
			d.held = append(d.held[:0], d.held[1:]...)
		}
		if len(d.held) == len(d.keys) {
			d.held = d.held[:0]
			d.out = out
			return out, true
		}
	}
	d.out = out
	return out, false
}

// ParseDetachKeys parses a detach sequence as docker and podman write it:
// comma-separated keys, each a single character or ctrl-X with X one of
// a-z @ [ \ ] ^ _. The empty string disables detaching (an empty, non-nil
// slice).
func ParseDetachKeys(s string) ([]byte, error) {
	keys := []byte{}
	if s == "" {
		return keys, nil
	}
	for _, k := range strings.Split(s, ",") {
		if len(k) == 1 {
			keys = append(keys, k[0])
			continue
		}
		name, ok := strings.CutPrefix(strings.ToLower(k), "ctrl-")
		if ok && len(name) == 1 {
			switch c := name[0]; {
			case c >= 'a' && c <= 'z':
				keys = append(keys, c-'a'+1)
				continue
			case c == '@' || c >= '[' && c <= '_':
				keys = append(keys, c-'@')
				continue
			}
		}
		return nil, fmt.Errorf("detach keys %q: %q is not a key: use a single character or ctrl-<a-z, @, [, \\, ], ^, _>, separated by commas", s, k)
	}
	return keys, nil
}
