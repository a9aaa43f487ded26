package monitor

import (
	"bytes"
	"os"
	"time"
	"unicode/utf8"
)

// k8sTimeLayout is the CRI log format's timestamp: RFC 3339 with exactly
// nine fractional digits, in local time with its offset.
const k8sTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// logWriter writes container output to a k8s-file or json-file log,
// rotating it at maxSize. It is not safe for concurrent use.
type logWriter struct {
	json    bool
	path    string
	maxSize int64
	f       *os.File
	size    int64
	buf     []byte
}

func openLog(driver, path string, maxSize int64) (*logWriter, error) {
	l := &logWriter{json: driver == LogDriverJSONFile, path: path, maxSize: maxSize}
	if err := l.open(os.O_APPEND); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *logWriter) open(flag int) error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|flag, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return err
	}
	l.f, l.size = f, fi.Size()
	return nil
}

func streamName(stream byte) string {
	if stream == frameStderr {
		return "stderr"
	}
	return "stdout"
}

// write logs one chunk of output: one record per line, the last marked
// partial when the chunk does not end with a newline. Records are written
// whole, each to the file it fits in.
func (l *logWriter) write(stream byte, p []byte, now time.Time) error {
	b := l.buf[:0]
	name := streamName(stream)
	for len(p) > 0 {
		line, rest, full := bytes.Cut(p, []byte{'\n'})
		p = rest
		start := len(b)
		if l.json {
			b = append(b, `{"log":`...)
			b = appendJSONString(b, line, full)
			b = append(b, `,"stream":"`...)
			b = append(b, name...)
			b = append(b, `","time":"`...)
			b = now.UTC().AppendFormat(b, time.RFC3339Nano)
			b = append(b, "\"}\n"...)
		} else {
			b = now.AppendFormat(b, k8sTimeLayout)
			b = append(b, ' ')
			b = append(b, name...)
			if full {
				b = append(b, " F "...)
			} else {
				b = append(b, " P "...)
			}
			b = append(b, line...)
			b = append(b, '\n')
		}
		if l.maxSize > 0 && l.size+int64(len(b)) > l.maxSize && l.size+int64(start) > 0 {
			// This record would take the file past maxSize: write what
			// fits, then start a new file with the record.
			if err := l.flush(b[:start]); err != nil {
				return err
			}
			if err := l.rotate(); err != nil {
				return err
			}
			b = append(b[:0], b[start:]...)
		}
	}
	l.buf = b
	return l.flush(b)
}

func (l *logWriter) flush(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	n, err := l.f.Write(b)
	l.size += int64(n)
	return err
}

// rotate keeps the current log as path.1 and starts an empty one.
func (l *logWriter) rotate() error {
	if err := l.f.Close(); err != nil {
		return err
	}
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return err
	}
	return l.open(os.O_TRUNC)
}

func (l *logWriter) close() error { return l.f.Close() }

// appendJSONString appends s, plus a newline when nl is set, as a JSON
// string. Invalid UTF-8 becomes U+FFFD, as encoding/json does.
func appendJSONString(b, s []byte, nl bool) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	if nl {
		b = append(b, '\\', 'n')
	}
	return append(b, '"')
}
