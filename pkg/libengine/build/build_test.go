package build

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ text, want string }{
		{"FROM a\nRUN true\nFROMM b\n", "Containerfile:3: unknown instruction: FROMM"},
		{"FROM a\nBOGUS x\n", "Containerfile:2: unknown instruction: BOGUS"},
		{"RUN true\n", "Containerfile:1:"},
		{"# only a comment\n", "Containerfile:1: file with no instructions"},
		{"FROM a AS 1bad\n", "Containerfile:1: invalid name for build stage"},
	} {
		_, err := Parse(strings.NewReader(tc.text), "Containerfile")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, define.ErrInvalidArg) {
			t.Errorf("Parse(%q) = %v, want %q wrapping ErrInvalidArg", tc.text, err, tc.want)
		}
	}
}

func TestStagesNeeded(t *testing.T) {
	t.Parallel()
	f, err := Parse(strings.NewReader(`FROM a AS base
FROM base AS build
RUN make
FROM a AS unused
FROM b AS docs
FROM c
COPY --from=build /out /out
COPY --from=docs /d /d
`), "Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target string
		want   []int
	}{{"", []int{0, 1, 3, 4}}, {"build", []int{0, 1}}, {"unused", []int{2}}} {
		i, err := f.Target(tc.target)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Needed(i); !slices.Equal(got, tc.want) {
			t.Errorf("Needed(%q) = %v, want %v", tc.target, got, tc.want)
		}
	}
	if _, err := f.Target("nosuch"); !errors.Is(err, define.ErrInvalidArg) {
		t.Errorf("unknown target: %v", err)
	}
	if f.StageIndex("BUILD", 2) != 1 || f.StageIndex("1", 2) != 1 || f.StageIndex("docs", 2) != -1 {
		t.Error("StageIndex resolves names case-insensitively and only earlier stages")
	}
}

func TestCommand(t *testing.T) {
	t.Parallel()
	sh := []string{"/bin/sh", "-c"}
	for _, tc := range []struct {
		cl   instructions.ShellDependantCmdLine
		want []string
	}{
		{instructions.ShellDependantCmdLine{CmdLine: []string{"echo hi"}, PrependShell: true}, []string{"/bin/sh", "-c", "echo hi"}},
		{instructions.ShellDependantCmdLine{CmdLine: []string{"echo", "hi"}}, []string{"echo", "hi"}},
		{instructions.ShellDependantCmdLine{CmdLine: []string{"<<EOF"}, PrependShell: true, Files: []instructions.ShellInlineFile{{Name: "EOF", Data: "echo a\necho b\n"}}},
			[]string{"/bin/sh", "-c", "echo a\necho b\n"}},
		{instructions.ShellDependantCmdLine{CmdLine: []string{"cat <<EOF > /f"}, PrependShell: true, Files: []instructions.ShellInlineFile{{Name: "EOF", Data: "x\n"}}},
			[]string{"/bin/sh", "-c", "cat <<EOF > /f\nx\nEOF"}},
	} {
		if got := Command(tc.cl, sh); !slices.Equal(got, tc.want) {
			t.Errorf("Command(%+v) = %q, want %q", tc.cl, got, tc.want)
		}
	}
}

func TestArgsAndExpansion(t *testing.T) {
	t.Parallel()
	var a Args
	v := "1"
	a.Declare("A", &v)
	a.Declare("B", nil)
	w := "2"
	a.Declare("A", &w)
	if got := a.Env(); !slices.Equal(got, []string{"A=2"}) {
		t.Errorf("Env() = %v", got)
	}
	x := NewExpander('\\')
	got, err := x.Func(append(a.Env(), "A=from-env"))("${A}-${B:-none}")
	if err != nil || got != "from-env-none" {
		t.Errorf("expand = %q, %v (the later entry, ENV, wins over the ARG)", got, err)
	}
	if words, err := x.Words("80 $P/udp", []string{"P=53"}); err != nil || !slices.Equal(words, []string{"80", "53/udp"}) {
		t.Errorf("Words = %v, %v", words, err)
	}
}

func TestCacheKey(t *testing.T) {
	t.Parallel()
	k := CacheKey("img", "RUN x", []string{"A=1"}, "d")
	for _, other := range []string{
		CacheKey("img2", "RUN x", []string{"A=1"}, "d"),
		CacheKey("img", "RUN y", []string{"A=1"}, "d"),
		CacheKey("img", "RUN x", []string{"A=2"}, "d"),
		CacheKey("img", "RUN x", []string{"A=1"}, "e"),
	} {
		if other == k {
			t.Error("a different input gave the same key")
		}
	}
	if CacheKey("img", "RUN x", []string{"A=1"}, "d") != k {
		t.Error("the key is not stable")
	}
}

// writeTree creates files (a "->" prefix makes a symbolic link, a "/"
// suffix a directory).
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(name, "/"):
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(content, "->"):
			if err := os.Symlink(content[2:], p); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func TestSelect(t *testing.T) {
	t.Parallel()
	ctx := writeTree(t, map[string]string{
		".containerignore": "*.log\nsecret/\n",
		"a.txt":            "a", "b.txt": "b", "x.log": "log",
		"dir/c.txt": "c", "dir/d.log": "d",
		"secret/key": "k",
		"abs":        "->/etc/passwd",
		"rel":        "->dir/c.txt",
	})
	tree, err := OpenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		srcs []string
		want []string // source names, or an error's text
		err  error
	}{
		{[]string{"*.txt"}, []string{"a.txt", "b.txt"}, nil},
		{[]string{"/a.txt", "dir"}, []string{"a.txt", "dir"}, nil},
		{[]string{"rel"}, []string{"rel"}, nil},
		{[]string{"x.log"}, nil, fs.ErrNotExist},
		{[]string{"secret/key"}, nil, fs.ErrNotExist},
		{[]string{"abs"}, nil, fs.ErrNotExist},
		{[]string{"../outside"}, nil, define.ErrInvalidArg},
		{[]string{"dir/../../outside"}, nil, define.ErrInvalidArg},
		{[]string{"*.none"}, nil, fs.ErrNotExist},
	} {
		sel, err := tree.Select(tc.srcs)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("Select(%v) = %v, want %v", tc.srcs, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Select(%v): %v", tc.srcs, err)
			continue
		}
		var names []string
		for _, s := range sel.sources {
			names = append(names, s.name)
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("Select(%v) = %v, want %v", tc.srcs, names, tc.want)
		}
	}
}

// layerEntries writes sel's layer and lists "name mode uid:gid" per entry.
func layerEntries(t *testing.T, sel *Selection, p Placement) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := sel.WriteLayer(&buf, p); err != nil {
		t.Fatal(err)
	}
	var out []string
	tr := tar.NewReader(&buf)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, hdr.Name+" "+fs.FileMode(hdr.Mode).Perm().String()+" "+string(rune('0'+hdr.Uid%10)))
	}
	return out
}

func TestWriteLayer(t *testing.T) {
	t.Parallel()
	ctx := writeTree(t, map[string]string{"f": "file", "dir/g": "g", "dir/sub/h": "h"})
	image := writeTree(t, map[string]string{"existing/": "", "tmp/": "", "link": "->existing"})
	if err := os.Chmod(filepath.Join(image, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	tree, err := OpenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	one, _ := tree.Select([]string{"f"})
	dir, _ := tree.Select([]string{"dir"})
	mode := fs.FileMode(0o700)
	for _, tc := range []struct {
		sel  *Selection
		p    Placement
		want []string
	}{
		// A file to a new path becomes it; its new parents are made.
		{one, Placement{Dest: "/new/name"}, []string{"new/ -rwxr-xr-x 0", "new/name -rw-r--r-- 0"}},
		// Into an existing directory (also through a link) it keeps its name,
		// and the directory keeps its mode.
		{one, Placement{Dest: "/tmp", ImageRoot: image}, []string{"tmp/ -rwxrwxrwx 0", "tmp/f -rw-r--r-- 0"}},
		{one, Placement{Dest: "/link", ImageRoot: image}, []string{"existing/ -rwxr-xr-x 0", "existing/f -rw-r--r-- 0"}},
		// A directory's content goes into the destination, with owner and mode.
		{dir, Placement{Dest: "/app", Owner: &Owner{UID: 7, GID: 7}, Mode: &mode}, []string{
			"app/ -rwxr-xr-x 7", "app/g -rwx------ 7", "app/sub/ -rwxr-xr-x 7", "app/sub/h -rwx------ 7"}},
	} {
		if got := layerEntries(t, tc.sel, tc.p); !slices.Equal(got, tc.want) {
			t.Errorf("WriteLayer(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
	if err := one.WriteLayer(io.Discard, Placement{Dest: "/existing/f/", ImageRoot: writeTree(t, map[string]string{"existing/f": "file"})}); !errors.Is(err, define.ErrInvalidArg) {
		t.Errorf("a directory destination that is a file in the image: %v", err)
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	ctx := writeTree(t, map[string]string{"dir/a": "a", "dir/b": "b"})
	tree, err := OpenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	digest := func() string {
		sel, err := tree.Select([]string{"dir"})
		if err != nil {
			t.Fatal(err)
		}
		d, err := sel.Digest(false)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	first := digest()
	if err := os.Chtimes(filepath.Join(ctx, "dir", "a"), timeZero, timeZero); err != nil {
		t.Fatal(err)
	}
	if digest() != first {
		t.Error("a new modification time changed the digest")
	}
	if err := os.WriteFile(filepath.Join(ctx, "dir", "a"), []byte("A"), 0o644); err != nil {
		t.Fatal(err)
	}
	if digest() == first {
		t.Error("new content kept the digest")
	}
}

var timeZero = time.Unix(0, 0)
