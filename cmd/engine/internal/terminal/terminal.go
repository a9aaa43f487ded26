// Package terminal puts the user's terminal in raw mode for an attached
// container with a pty and reports its size changes. It knows nothing of
// containers.
package terminal

import (
	"os"
	"os/signal"

	"github.com/engine-oss/engine/pkg/libengine/monitor"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Session is a terminal in raw mode; Restore puts it back.
type Session struct {
	fd     int
	state  *term.State
	size   *monitor.TerminalSize
	resize chan monitor.TerminalSize
	sigs   chan os.Signal
}

// Raw makes in raw mode when it is a terminal, and sends out's size now and
// after each SIGWINCH. On a non-terminal it returns a Session that does
// nothing, so callers need no special case.
func Raw(in, out *os.File) (*Session, error) {
	s := &Session{fd: -1, resize: make(chan monitor.TerminalSize, 1)}
	if term.IsTerminal(int(in.Fd())) {
		st, err := term.MakeRaw(int(in.Fd()))
		if err != nil {
			return nil, err
		}
		s.fd, s.state = int(in.Fd()), st
	}
	if term.IsTerminal(int(out.Fd())) {
		send := func() {
			if w, h, err := term.GetSize(int(out.Fd())); err == nil {
				select {
				case s.resize <- monitor.TerminalSize{Width: uint16(w), Height: uint16(h)}:
				default:
				}
			}
		}
		send()
		if w, h, err := term.GetSize(int(out.Fd())); err == nil {
			s.size = &monitor.TerminalSize{Width: uint16(w), Height: uint16(h)}
		}
		s.sigs = make(chan os.Signal, 1)
		signal.Notify(s.sigs, unix.SIGWINCH)
		go func() {
			for range s.sigs {
				send()
			}
		}()
	}
	return s, nil
}

// Size is the terminal's size when the session began; nil when out is
// not a terminal.
func (s *Session) Size() *monitor.TerminalSize { return s.size }

// Resize carries the terminal's size changes.
func (s *Session) Resize() <-chan monitor.TerminalSize { return s.resize }

// Restore leaves raw mode and stops watching the size.
func (s *Session) Restore() {
	if s.sigs != nil {
		signal.Stop(s.sigs)
		close(s.sigs)
		s.sigs = nil
	}
	if s.state != nil {
		_ = term.Restore(s.fd, s.state)
		s.state = nil
	}
}
