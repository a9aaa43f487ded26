package systemd

import (
	"errors"
	"strings"
)

// SplitWords splits a value into words as systemd splits ExecStart= and
// list settings such as Environment=: whitespace separates words, single
// and double quotes group them, and a backslash escapes the next character
// (\n, \t, \\, \", \', \ and \; as in C; any other character stands for
// itself). Unbalanced quotes and a trailing backslash are errors.
func SplitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 == len(s) {
				return nil, errors.New("trailing backslash")
			}
			i++
			w.WriteByte(unescape(s[i]))
			inWord = true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				w.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
			inWord = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unbalanced quotes")
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	case 'r':
		return '\r'
	}
	return c
}

// CommandLine joins args into a value for ExecStart= and friends that
// systemd splits back into exactly args: words with whitespace, quotes,
// backslashes or control characters are double-quoted and escaped, and a
// lone ";" (a command separator to systemd) is escaped. "%" specifiers and
// "$VAR" references are left for systemd to expand.
func CommandLine(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch {
		case a == ";":
			b.WriteString(`\;`)
		case a == "" || strings.ContainsAny(a, " \t\n\r\"'\\"):
			b.WriteByte('"')
			for j := 0; j < len(a); j++ {
				switch c := a[j]; c {
				case '"', '\\':
					b.WriteByte('\\')
					b.WriteByte(c)
				case '\n':
					b.WriteString(`\n`)
				case '\t':
					b.WriteString(`\t`)
				case '\r':
					b.WriteString(`\r`)
				default:
					b.WriteByte(c)
				}
			}
			b.WriteByte('"')
		default:
			b.WriteString(a)
		}
	}
	return b.String()
}
