package monitor

import (
	"encoding/binary"
	"errors"
	"io"
	"strconv"
	"sync"
)

// The attach protocol. Both directions of the attach socket carry frames: a
// type byte, the payload's length as a big-endian uint32, then the payload.
// Clients send stdin, resize and close-stdin frames; the monitor first sends
// a ready frame, then stdout and stderr frames, and closes the connection
// once the container has exited and its output is drained. Unknown frame
// types are ignored by both sides.
const (
	frameStdin      byte = 1 // payload: bytes for the container's stdin
	frameStdout     byte = 2 // payload: container output
	frameStderr     byte = 3 // payload: container output (never with a terminal)
	frameResize     byte = 4 // payload: rows, columns as two big-endian uint16
	frameCloseStdin byte = 5 // no payload: close the container's stdin
	frameReady      byte = 6 // no payload: output from now on reaches this client
)

const (
	frameHeaderLen = 5
	// maxFramePayload bounds what a peer may ask the reader to allocate.
	maxFramePayload = 1 << 20
)

var errFrameTooLarge = errors.New("attach frame larger than " + strconv.Itoa(maxFramePayload) + " bytes")

// appendFrame appends one encoded frame to b.
func appendFrame(b []byte, typ byte, payload []byte) []byte {
	b = append(b, typ, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(b[len(b)-4:], uint32(len(payload)))
	return append(b, payload...)
}

// readFrame reads one frame, reusing buf for the payload when it is large
// enough. It returns io.EOF only at a frame boundary, and
// io.ErrUnexpectedEOF for a frame cut short.
func readFrame(r io.Reader, buf []byte) (typ byte, payload []byte, err error) {
	var hdr [frameHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFramePayload {
		return 0, nil, errFrameTooLarge
	}
	if uint32(cap(buf)) < n {
		buf = make([]byte, n)
	}
	payload = buf[:n]
	if _, err := io.ReadFull(r, payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return hdr[0], payload, nil
}

// frameWriter writes whole frames from several goroutines.
type frameWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func (fw *frameWriter) write(typ byte, payload []byte) error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	fw.buf = appendFrame(fw.buf[:0], typ, payload)
	_, err := fw.w.Write(fw.buf)
	return err
}

// encodeSize and decodeSize convert a resize frame's payload.
func encodeSize(s TerminalSize) []byte {
	var b [4]byte
	binary.BigEndian.PutUint16(b[0:], s.Height)
	binary.BigEndian.PutUint16(b[2:], s.Width)
	return b[:]
}

func decodeSize(p []byte) (TerminalSize, bool) {
	if len(p) != 4 {
		return TerminalSize{}, false
	}
	return TerminalSize{Height: binary.BigEndian.Uint16(p[0:]), Width: binary.BigEndian.Uint16(p[2:])}, true
}
