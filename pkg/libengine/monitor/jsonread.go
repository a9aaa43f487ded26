package monitor

import (
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonReader decodes the few JSON shapes the monitor reads (its Config and
// the runtime's log records). encoding/json would do, but its reflection
// makes the monitor's binary, and so its resident size, markedly larger.
type jsonReader struct {
	b []byte
	i int
}

var errJSONSyntax = errors.New("invalid JSON")

func (r *jsonReader) syntaxError() error {
	return wrap(errJSONSyntax, "at byte "+strconv.Itoa(r.i))
}

func (r *jsonReader) peek() byte {
	for r.i < len(r.b) {
		switch c := r.b[r.i]; c {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return c
		}
	}
	return 0
}

func (r *jsonReader) consume(c byte) bool {
	if r.peek() == c {
		r.i++
		return true
	}
	return false
}

// end checks that only white space is left.
func (r *jsonReader) end() error {
	if r.peek() != 0 {
		return r.syntaxError()
	}
	return nil
}

// object calls member for each key of an object; member must read the value.
func (r *jsonReader) object(member func(key string) error) error {
	if !r.consume('{') {
		return r.syntaxError()
	}
	if r.consume('}') {
		return nil
	}
	for {
		key, err := r.str()
		if err != nil {
			return err
		}
		if !r.consume(':') {
			return r.syntaxError()
		}
		if err := member(key); err != nil {
			return err
		}
		if r.consume('}') {
			return nil
		}
		if !r.consume(',') {
			return r.syntaxError()
		}
	}
}

func (r *jsonReader) str() (string, error) {
	if !r.consume('"') {
		return "", r.syntaxError()
	}
	var out []byte
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return string(out), nil
		case c < 0x20:
			return "", r.syntaxError()
		case c != '\\':
			out = append(out, c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.b) {
			break
		}
		esc := r.b[r.i+1]
		r.i += 2
		switch esc {
		case '"', '\\', '/':
			out = append(out, esc)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			c, ok := r.hex4()
			if !ok {
				return "", r.syntaxError()
			}
			if c >= 0xd800 && c < 0xdc00 { // a surrogate pair's first half
				save := r.i
				if r.i+1 < len(r.b) && r.b[r.i] == '\\' && r.b[r.i+1] == 'u' {
					r.i += 2
					if lo, ok := r.hex4(); ok && lo >= 0xdc00 && lo < 0xe000 {
						c = 0x10000 + (c-0xd800)<<10 + (lo - 0xdc00)
					} else {
						r.i = save
					}
				}
			}
			out = utf8.AppendRune(out, c) // a lone surrogate becomes U+FFFD
		default:
			return "", r.syntaxError()
		}
	}
	return "", r.syntaxError()
}

func (r *jsonReader) hex4() (rune, bool) {
	if r.i+4 > len(r.b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(r.b[r.i:r.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	r.i += 4
	return rune(n), true
}

func (r *jsonReader) literal(word string) bool {
	if r.peek() != word[0] || len(r.b)-r.i < len(word) || string(r.b[r.i:r.i+len(word)]) != word {
		return false
	}
	r.i += len(word)
	return true
}

func (r *jsonReader) boolean() (bool, error) {
	switch {
	case r.literal("true"):
		return true, nil
	case r.literal("false"), r.literal("null"):
		return false, nil
	}
	return false, r.syntaxError()
}

// number returns the text of a number.
func (r *jsonReader) number() (string, error) {
	r.peek()
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			r.i++
			continue
		}
		break
	}
	if r.i == start {
		return "", r.syntaxError()
	}
	return string(r.b[start:r.i]), nil
}

func (r *jsonReader) int64() (int64, error) {
	if r.literal("null") {
		return 0, nil
	}
	s, err := r.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, wrap(err, "at byte "+strconv.Itoa(r.i))
	}
	return n, nil
}

func (r *jsonReader) optString() (string, error) {
	if r.literal("null") {
		return "", nil
	}
	return r.str()
}

// time reads an RFC 3339 time string.
func (r *jsonReader) time() (time.Time, error) {
	s, err := r.str()
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, s)
}

func (r *jsonReader) strings() ([]string, error) {
	if r.literal("null") {
		return nil, nil
	}
	if !r.consume('[') {
		return nil, r.syntaxError()
	}
	var list []string
	if r.consume(']') {
		return list, nil
	}
	for {
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		list = append(list, s)
		if r.consume(']') {
			return list, nil
		}
		if !r.consume(',') {
			return nil, r.syntaxError()
		}
	}
}

// skip reads past any value.
func (r *jsonReader) skip() error {
	switch r.peek() {
	case '"':
		_, err := r.str()
		return err
	case '{':
		return r.object(func(string) error { return r.skip() })
	case '[':
		r.i++
		if r.consume(']') {
			return nil
		}
		for {
			if err := r.skip(); err != nil {
				return err
			}
			if r.consume(']') {
				return nil
			}
			if !r.consume(',') {
				return r.syntaxError()
			}
		}
	case 't', 'f', 'n':
		if r.literal("true") || r.literal("false") || r.literal("null") {
			return nil
		}
		return r.syntaxError()
	default:
		_, err := r.number()
		return err
	}
}

// decodeConfig decodes what Config.WriteFile wrote. Keys are matched as
// written by encoding/json from the field tags; unknown keys are skipped.
func decodeConfig(data []byte) (*Config, error) {
	var c Config
	r := &jsonReader{b: data}
	err := r.object(func(key string) error {
		var err error
		switch key {
		case "id":
			c.ID, err = r.optString()
		case "bundle":
			c.Bundle, err = r.optString()
		case "runtimePath":
			c.RuntimePath, err = r.optString()
		case "runtimeStateDir":
			c.RuntimeStateDir, err = r.optString()
		case "terminal":
			c.Terminal, err = r.boolean()
		case "stdin":
			c.Stdin, err = r.boolean()
		case "logDriver":
			c.LogDriver, err = r.optString()
		case "logPath":
			c.LogPath, err = r.optString()
		case "logMaxSize":
			c.LogMaxSize, err = r.int64()
		case "attachSocket":
			c.AttachSocket, err = r.optString()
		case "exitFile":
			c.ExitFile, err = r.optString()
		case "pidFile":
			c.PidFile, err = r.optString()
		case "exitCommand":
			c.ExitCommand, err = r.strings()
		case "cleanupClaim":
			c.CleanupClaim, err = r.optString()
		case "notifySocket":
			c.NotifySocket, err = r.optString()
		case "notifyMode":
			c.NotifyMode, err = r.optString()
		case "notifyProxy":
			c.NotifyProxy, err = r.optString()
		case "healthCommand":
			c.HealthCommand, err = r.strings()
		case "healthInterval":
			var n int64
			n, err = r.int64()
			c.HealthInterval = time.Duration(n)
		default:
			err = r.skip()
		}
		return err
	})
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// decodeLogRecord reads the level and message of one record of the
// runtime's JSON log.
func decodeLogRecord(line []byte) (level, msg string, err error) {
	r := &jsonReader{b: line}
	err = r.object(func(key string) error {
		var err error
		switch key {
		case "level":
			level, err = r.optString()
		case "msg":
			msg, err = r.optString()
		default:
			err = r.skip()
		}
		return err
	})
	return level, msg, err
}
