package monitor

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestFrameRoundTrip(t *testing.T) {
	t.Parallel()
	frames := []struct {
		typ     byte
		payload []byte
	}{
		{frameStdin, []byte("hello\n")},
		{frameStdout, bytes.Repeat([]byte("x"), 70000)},
		{frameStderr, nil},
		{frameResize, encodeSize(TerminalSize{Width: 132, Height: 43})},
		{frameCloseStdin, nil},
	}
	var stream []byte
	for _, f := range frames {
		stream = appendFrame(stream, f.typ, f.payload)
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data+EOF": iotest.DataErrReader,
	}
	for name, wrap := range readers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := wrap(bytes.NewReader(stream))
			buf := make([]byte, 16)
			for i, want := range frames {
				typ, payload, err := readFrame(r, buf)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if typ != want.typ || !bytes.Equal(payload, want.payload) {
					t.Fatalf("frame %d: type %d, %d bytes; want type %d, %d bytes", i, typ, len(payload), want.typ, len(want.payload))
				}
			}
			if _, _, err := readFrame(r, buf); !errors.Is(err, io.EOF) {
				t.Fatalf("after the last frame: %v, want io.EOF", err)
			}
		})
	}
	size, ok := decodeSize(frames[3].payload)
	if !ok || size != (TerminalSize{Width: 132, Height: 43}) {
		t.Errorf("decodeSize = %+v, %v", size, ok)
	}
	if _, ok := decodeSize([]byte{1, 2, 3}); ok {
		t.Error("decodeSize accepted 3 bytes")
	}
}

func TestFrameErrors(t *testing.T) {
	t.Parallel()
	whole := appendFrame(nil, frameStdout, []byte("payload"))
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"cut in the header", whole[:3], io.ErrUnexpectedEOF},
		{"cut in the payload", whole[:len(whole)-2], io.ErrUnexpectedEOF},
		{"too large", []byte{frameStdin, 0xff, 0xff, 0xff, 0xff}, errFrameTooLarge},
	}
	for _, tt := range tests {
		if _, _, err := readFrame(bytes.NewReader(tt.data), nil); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestFrameWriterConcurrent(t *testing.T) {
	t.Parallel()
	r, w := io.Pipe()
	fw := &frameWriter{w: w}
	const n = 100
	for _, typ := range []byte{frameStdin, frameResize} {
		go func() {
			for i := 0; i < n; i++ {
				_ = fw.write(typ, bytes.Repeat([]byte{typ}, 1000))
			}
		}()
	}
	for i := 0; i < 2*n; i++ {
		typ, payload, err := readFrame(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(payload, bytes.Repeat([]byte{typ}, 1000)) {
			t.Fatalf("frame %d of type %d is mixed with another", i, typ)
		}
	}
}
