package monitor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// chunk is one read of container output, logged at second sec.
type chunk struct {
	sec    int
	stream byte
	data   string
}

// history: "a" and "bc" (logged in two parts) on stdout, "e" on stderr,
// then "d" on stdout.
var sample = []chunk{
	{0, frameStdout, "a\nb"},
	{1, frameStdout, "c\n"},
	{2, frameStderr, "e\n"},
	{3, frameStdout, "d\n"},
}

func writeLog(t *testing.T, driver, path string, maxSize int64, chunks []chunk) {
	t.Helper()
	l, err := openLog(driver, path, maxSize)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.close() }()
	for _, c := range chunks {
		if err := l.write(c.stream, []byte(c.data), at(c.sec)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLogFormats(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k8s, jsonFile := filepath.Join(dir, "k8s.log"), filepath.Join(dir, "json.log")
	writeLog(t, LogDriverK8sFile, k8s, 0, sample)
	writeLog(t, LogDriverJSONFile, jsonFile, 0, sample)
	want := map[string]string{
		k8s: "2026-03-04T05:06:07.000000000Z stdout F a\n" +
			"2026-03-04T05:06:07.000000000Z stdout P b\n" +
			"2026-03-04T05:06:08.000000000Z stdout F c\n" +
			"2026-03-04T05:06:09.000000000Z stderr F e\n" +
			"2026-03-04T05:06:10.000000000Z stdout F d\n",
		jsonFile: `{"log":"a\n","stream":"stdout","time":"2026-03-04T05:06:07Z"}` + "\n" +
			`{"log":"b","stream":"stdout","time":"2026-03-04T05:06:07Z"}` + "\n" +
			`{"log":"c\n","stream":"stdout","time":"2026-03-04T05:06:08Z"}` + "\n" +
			`{"log":"e\n","stream":"stderr","time":"2026-03-04T05:06:09Z"}` + "\n" +
			`{"log":"d\n","stream":"stdout","time":"2026-03-04T05:06:10Z"}` + "\n",
	}
	for path, w := range want {
		if data, err := os.ReadFile(path); err != nil || string(data) != w {
			t.Errorf("%s:\n%s\nwant\n%s", filepath.Base(path), data, w)
		}
	}
}

func TestReadLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		opts           LogReadOptions
		stdout, stderr string
	}{
		{"all", LogReadOptions{Tail: -1}, "a\nbc\nd\n", "e\n"},
		{"tail 2", LogReadOptions{Tail: 2}, "d\n", "e\n"},
		{"tail 3", LogReadOptions{Tail: 3}, "bc\nd\n", "e\n"},
		{"tail 0", LogReadOptions{Tail: 0}, "", ""},
		{"since a line's first part", LogReadOptions{Tail: -1, Since: at(0)}, "a\nbc\nd\n", "e\n"},
		{"since a line's last part", LogReadOptions{Tail: -1, Since: at(1)}, "d\n", "e\n"},
		{"until", LogReadOptions{Tail: -1, Until: at(1)}, "a\nbc\n", ""},
		{"since and tail", LogReadOptions{Tail: 1, Since: at(2)}, "d\n", ""},
		{"timestamps", LogReadOptions{Tail: -1, Timestamps: true},
			"2026-03-04T05:06:07.000000000Z a\n2026-03-04T05:06:07.000000000Z bc\n2026-03-04T05:06:10.000000000Z d\n",
			"2026-03-04T05:06:09.000000000Z e\n"},
	}
	for _, driver := range []string{LogDriverK8sFile, LogDriverJSONFile} {
		path := filepath.Join(t.TempDir(), "ctr.log")
		writeLog(t, driver, path, 0, sample)
		for _, tt := range tests {
			var stdout, stderr bytes.Buffer
			if err := ReadLog(context.Background(), path, tt.opts, &stdout, &stderr); err != nil {
				t.Fatalf("%s %s: %v", driver, tt.name, err)
			}
			if stdout.String() != tt.stdout || stderr.String() != tt.stderr {
				t.Errorf("%s %s: stdout %q, stderr %q; want %q, %q", driver, tt.name, stdout.String(), stderr.String(), tt.stdout, tt.stderr)
			}
		}
	}
	if err := ReadLog(context.Background(), filepath.Join(t.TempDir(), "none"), LogReadOptions{}, nil, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing log: %v", err)
	}
}

func TestLogRotationRecords(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ctr.log")
	var chunks []chunk
	var want strings.Builder
	for i := 0; i < 40; i++ {
		line := strings.Repeat(string(rune('a'+i%26)), i) + "\n"
		chunks = append(chunks, chunk{i, frameStdout, line})
		want.WriteString(line)
	}
	// One chunk with many lines is split between files at a record.
	chunks = append(chunks, chunk{40, frameStdout, strings.Repeat("0123456789\n", 30)})
	want.WriteString(strings.Repeat("0123456789\n", 30))
	const maxSize = 512
	writeLog(t, LogDriverK8sFile, path, maxSize, chunks)
	for _, p := range []string{path, path + ".1"} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > maxSize || len(data) == 0 || data[len(data)-1] != '\n' {
			t.Errorf("%s: %d bytes, not whole records within %d", filepath.Base(p), len(data), maxSize)
		}
	}
	var out bytes.Buffer
	if err := ReadLog(context.Background(), path, LogReadOptions{Tail: -1}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got == "" || !strings.HasSuffix(want.String(), got) {
		t.Errorf("read %q, not a suffix of the output", got)
	}
}

func TestFollowLogRotationAndPartials(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ctr.log")
	l, err := openLog(LogDriverK8sFile, path, 200)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.close() }()
	write := func(sec int, s string) {
		if err := l.write(frameStdout, []byte(s), at(sec)); err != nil {
			t.Error(err)
		}
	}
	write(0, "old\nopen")

	var mu sync.Mutex
	finished := false
	go func() {
		time.Sleep(3 * followInterval / 2)
		write(1, "ed\n")
		// A record is 68 bytes: the log rotates every other line, about
		// once per poll, sometimes twice.
		for i := 0; i < 10; i++ {
			write(2+i, "line "+strings.Repeat("x", 30)+"\n")
			time.Sleep(followInterval / 2)
		}
		write(20, "tail")
		mu.Lock()
		finished = true
		mu.Unlock()
	}()
	var out bytes.Buffer
	opts := LogReadOptions{Tail: 1, Follow: true, Timestamps: true, FollowUntil: func() bool {
		mu.Lock()
		defer mu.Unlock()
		return finished
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ReadLog(ctx, path, opts, &out, nil); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	want.WriteString("2026-03-04T05:06:07.000000000Z opened\n")
	for i := 0; i < 10; i++ {
		want.WriteString(at(2+i).Format(k8sTimeLayout) + " line " + strings.Repeat("x", 30) + "\n")
	}
	want.WriteString(at(20).Format(k8sTimeLayout) + " tail")
	if out.String() != want.String() {
		t.Errorf("followed:\n%q\nwant\n%q", out.String(), want.String())
	}
}

func TestFollowCancelled(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ctr.log")
	writeLog(t, LogDriverK8sFile, path, 0, sample[:1])
	ctx, cancel := context.WithTimeout(context.Background(), 3*followInterval)
	defer cancel()
	var out bytes.Buffer
	err := ReadLog(ctx, path, LogReadOptions{Tail: -1, Follow: true}, &out, nil)
	if !errors.Is(err, context.DeadlineExceeded) || out.String() != "a\nb" {
		t.Errorf("ReadLog = %v with %q", err, out.String())
	}
}
