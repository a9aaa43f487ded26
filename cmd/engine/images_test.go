package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
)

func TestHumanSize(t *testing.T) {
	t.Parallel()
	tests := map[int64]string{
		0:          "0 B",
		999:        "999 B",
		2048:       "2.05 kB",
		1985961:    "1.99 MB",
		4300000:    "4.3 MB",
		1234567890: "1.23 GB",
	}
	for n, want := range tests {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestHumanAgo(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := map[time.Duration]string{
		0:                   "Less than a second ago",
		30 * time.Second:    "30 seconds ago",
		2 * time.Hour:       "2 hours ago",
		3 * 24 * time.Hour:  "3 days ago",
		20 * 24 * time.Hour: "2 weeks ago",
	}
	for d, want := range tests {
		if got := humanAgo(now.Add(-d), now); got != want {
			t.Errorf("humanAgo(-%v) = %q, want %q", d, got, want)
		}
	}
}

func summary(id, repo, tag string, created, size int64) libengine.ImageSummary {
	return libengine.ImageSummary{ID: id, Repository: repo, Tag: tag, Created: created, Size: size}
}

func TestSortImageRows(t *testing.T) {
	t.Parallel()
	rows := []libengine.ImageSummary{
		summary("bbb", "localhost/b", "1", 100, 30),
		summary("aaa", "localhost/a", "2", 300, 10),
		summary("ccc", "localhost/c", "0", 200, 20),
		summary("aaa", "localhost/a", "1", 300, 10),
	}
	tests := map[string][]string{
		"created":    {"localhost/a:1", "localhost/a:2", "localhost/c:0", "localhost/b:1"},
		"id":         {"localhost/a:1", "localhost/a:2", "localhost/b:1", "localhost/c:0"},
		"repository": {"localhost/a:1", "localhost/a:2", "localhost/b:1", "localhost/c:0"},
		"size":       {"localhost/a:1", "localhost/a:2", "localhost/c:0", "localhost/b:1"},
		"tag":        {"localhost/c:0", "localhost/a:1", "localhost/b:1", "localhost/a:2"},
	}
	for key, want := range tests {
		r := slices.Clone(rows)
		sortImageRows(r, key)
		var got []string
		for _, s := range r {
			got = append(got, s.Repository+":"+s.Tag)
		}
		if !slices.Equal(got, want) {
			t.Errorf("sort by %s = %v, want %v", key, got, want)
		}
	}
}

func TestPrintImages(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	id := strings.Repeat("ab", 32)
	rows := []libengine.ImageSummary{
		{ID: id, Repository: "localhost/base", Tag: "1", Created: now.Add(-2 * time.Hour).Unix(), Size: 4_300_000, Digest: "sha256:dd"},
		{ID: id, Repository: "quay.io/x/base", Tag: "2", Created: now.Add(-2 * time.Hour).Unix(), Size: 4_300_000, Digest: "sha256:dd"},
		{ID: strings.Repeat("c", 64), Repository: "<none>", Tag: "<none>", Created: now.Unix(), Size: 999},
	}
	tests := []struct {
		name string
		o    imagesOptions
		want string
	}{
		{"table", imagesOptions{}, "" +
			"REPOSITORY      TAG     IMAGE ID      CREATED                 SIZE\n" +
			"localhost/base  1       abababababab  2 hours ago             4.3 MB\n" +
			"quay.io/x/base  2       abababababab  2 hours ago             4.3 MB\n" +
			"<none>          <none>  cccccccccccc  Less than a second ago  999 B\n"},
		{"noheading", imagesOptions{noHeading: true}, "" +
			"localhost/base  1       abababababab  2 hours ago             4.3 MB\n" +
			"quay.io/x/base  2       abababababab  2 hours ago             4.3 MB\n" +
			"<none>          <none>  cccccccccccc  Less than a second ago  999 B\n"},
		{"quiet dedups", imagesOptions{quiet: true}, "abababababab\ncccccccccccc\n"},
		{"quiet no-trunc", imagesOptions{quiet: true, noTrunc: true}, "sha256:" + id + "\nsha256:" + strings.Repeat("c", 64) + "\n"},
		{"digests", imagesOptions{digests: true, format: "table {{.Tag}}\t{{.Digest}}"}, "TAG     DIGEST\n1       sha256:dd\n2       sha256:dd\n<none>  \n"},
		{"template", imagesOptions{format: "{{.Repository}}:{{.Tag}} {{.Size}} {{.Created}}"}, "localhost/base:1 4.3 MB 2 hours ago\nquay.io/x/base:2 4.3 MB 2 hours ago\n<none>:<none> 999 B Less than a second ago\n"},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		if err := printImages(&buf, rows, &tc.o, now); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tc.want {
			t.Errorf("%s:\n%s\nwant:\n%s", tc.name, buf.String(), tc.want)
		}
	}
	var buf bytes.Buffer
	if err := printImages(&buf, rows, &imagesOptions{format: "json"}, now); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), `"Id"`); n != 2 {
		t.Errorf("json lists %d images, want 2 (one per image):\n%s", n, buf.String())
	}
}

func TestRmiError(t *testing.T) {
	t.Parallel()
	noSuch := fmt.Errorf("image %q: %w", "x", define.ErrNoSuchImage)
	inUse := fmt.Errorf("image y: %w", define.ErrImageInUse)
	other := errors.New("disk on fire")
	tests := []struct {
		err       error
		code      int
		lastShown string
		printed   string
	}{
		{noSuch, 1, noSuch.Error(), ""},
		{inUse, 2, inUse.Error(), ""},
		{other, 125, other.Error(), ""},
		{errors.Join(noSuch, inUse), 2, inUse.Error(), "Error: " + noSuch.Error() + "\n"},
		{errors.Join(inUse, noSuch), 2, noSuch.Error(), "Error: " + inUse.Error() + "\n"},
		{errors.Join(other, noSuch), 125, noSuch.Error(), "Error: " + other.Error() + "\n"},
	}
	for _, tc := range tests {
		var stderr bytes.Buffer
		err := rmiError(&stderr, tc.err)
		var ee *define.ExitError
		if !errors.As(err, &ee) || ee.Code != tc.code || ee.Error() != tc.lastShown || stderr.String() != tc.printed {
			t.Errorf("rmiError(%v) = %#v, printed %q; want code %d", tc.err, err, stderr.String(), tc.code)
		}
	}
	if rmiError(nil, nil) != nil {
		t.Error("nil error must stay nil")
	}
}

func TestConfirmPrune(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		all     bool
		want    bool
		wantErr bool
	}{
		{in: "y\n", want: true},
		{in: "Yes\n", want: true},
		{in: "n\n"},
		{in: "\n"},
		{in: "y", want: true},
		{in: "", wantErr: true},
		{in: "y\n", all: true, want: true},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		got, err := confirmPrune(strings.NewReader(tc.in), &out, tc.all)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("confirmPrune(%q) = %v, %v", tc.in, got, err)
		}
		want := "WARNING! This command removes all dangling images.\nAre you sure you want to continue? [y/N] "
		if tc.all {
			want = "WARNING! This command removes all images without at least one container associated with them.\nAre you sure you want to continue? [y/N] "
		}
		if out.String() != want {
			t.Errorf("prompt = %q", out.String())
		}
	}
}

func TestPrintHistory(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0).UTC()
	long := "/bin/sh -c #(nop) COPY file:0123456789abcdef0123456789abcdef in /usr/bin"
	entries := []libengine.HistoryEntry{
		{ID: strings.Repeat("a", 64), Created: now.Add(-3 * time.Hour), CreatedBy: long, Size: 2048, Comment: "c"},
		{ID: "<missing>", Created: now.Add(-48 * time.Hour), CreatedBy: "CMD sh", Size: 0},
	}
	tests := []struct {
		name string
		o    historyOptions
		want string
	}{
		{"default", historyOptions{human: true}, "" +
			"ID            CREATED      CREATED BY                                     SIZE     COMMENT\n" +
			"aaaaaaaaaaaa  3 hours ago  /bin/sh -c #(nop) COPY file:0123456789abcd...  2.05 kB  c\n" +
			"<missing>     2 days ago   CMD sh                                         0 B      \n"},
		{"not human, not truncated", historyOptions{noTrunc: true, format: "{{.ID}}|{{.Created}}|{{.CreatedBy}}|{{.Size}}"},
			strings.Repeat("a", 64) + "|2023-11-14T19:13:20Z|" + long + "|2048\n<missing>|2023-11-12T22:13:20Z|CMD sh|0\n"},
		{"quiet", historyOptions{quiet: true, human: true}, "aaaaaaaaaaaa\n<missing>\n"},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		if err := printHistory(&buf, entries, &tc.o, now); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tc.want {
			t.Errorf("%s:\n%q\nwant\n%q", tc.name, buf.String(), tc.want)
		}
	}
}
