package monitor

import (
	"bytes"
	"testing"
)

func TestParseDetachKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []byte
		wantErr bool
	}{
		{"ctrl-p,ctrl-q", []byte{16, 17}, false},
		{"ctrl-a", []byte{1}, false},
		{"CTRL-Z", []byte{26}, false},
		{"ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", []byte{0, 27, 28, 29, 30, 31}, false},
		{"a,b", []byte{'a', 'b'}, false},
		{"", []byte{}, false},
		{"ctrl-", nil, true},
		{"ctrl-1", nil, true},
		{"ab", nil, true},
		{"ctrl-p,", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseDetachKeys(tt.in)
		if (err != nil) != tt.wantErr || !bytes.Equal(got, tt.want) {
			t.Errorf("ParseDetachKeys(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if !tt.wantErr && got == nil {
			t.Errorf("ParseDetachKeys(%q) = nil, want a non-nil slice", tt.in)
		}
	}
}

func TestDetachScanner(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		keys     string
		reads    []string
		want     string // forwarded, in all
		detached bool
	}{
		{"plain", "\x10\x11", []string{"hello"}, "hello", false},
		{"sequence", "\x10\x11", []string{"ab\x10\x11cd"}, "ab", true},
		{"split across reads", "\x10\x11", []string{"ab\x10", "\x11"}, "ab", true},
		{"held then released", "\x10\x11", []string{"a\x10", "b"}, "a\x10b", false},
		{"double first key", "\x10\x11", []string{"\x10\x10\x11"}, "\x10", true},
		{"overlapping prefix", "aab", []string{"aaab"}, "a", true},
		{"disabled", "", []string{"\x10\x11"}, "\x10\x11", false},
		{"one key", "q", []string{"xyq"}, "xy", true},
	}
	for _, tt := range tests {
		d := detachScanner{keys: []byte(tt.keys)}
		var got []byte
		detached := false
		for _, r := range tt.reads {
			out, det := d.scan([]byte(r))
			got = append(got, out...)
			if det {
				detached = true
				break
			}
		}
		if string(got) != tt.want || detached != tt.detached {
			t.Errorf("%s: forwarded %q, detached %v; want %q, %v", tt.name, got, detached, tt.want, tt.detached)
		}
	}
}
