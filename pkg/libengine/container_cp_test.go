package libengine

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func TestParseCopyLocation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		arg  string
		want CopyLocation
	}{
		{"ctr:/etc/passwd", CopyLocation{Container: "ctr", Path: "/etc/passwd"}},
		{"ctr:relative", CopyLocation{Container: "ctr", Path: "relative"}},
		{"0123abcd:/a:b", CopyLocation{Container: "0123abcd", Path: "/a:b"}},
		{"/abs/with:colon", CopyLocation{Path: "/abs/with:colon"}},
		{"./local:file", CopyLocation{Path: "./local:file"}},
		{"../up:file", CopyLocation{Path: "../up:file"}},
		{"plain", CopyLocation{Path: "plain"}},
		{":nothing", CopyLocation{Path: ":nothing"}},
		{"-", CopyLocation{Path: "-"}},
	} {
		if got := ParseCopyLocation(tc.arg); got != tc.want {
			t.Errorf("ParseCopyLocation(%q) = %+v, want %+v", tc.arg, got, tc.want)
		}
	}
}

// tarStream builds a tar stream of the headers; regular files get body as
// their content.
func tarStream(t *testing.T, body string, hdrs ...*tar.Header) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

func keepOwner(*tar.Header) (int, int, bool) { return 0, 0, false }

// TestExtractTarConfined checks that no entry lands outside the root: links
// are followed as if the root were "/", names climbing out are refused.
func TestExtractTarConfined(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		hdrs    []*tar.Header
		want    string // path under root holding the content
		wantErr error
	}{
		{name: "absolute link then file through it",
			hdrs: []*tar.Header{{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/"},
				{Name: "l/escaped", Typeflag: tar.TypeReg}},
			want: "escaped"},
		{name: "relative link climbing out",
			hdrs: []*tar.Header{{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../../../.."},
				{Name: "l/escaped", Typeflag: tar.TypeReg}},
			want: "escaped"},
		{name: "dot dot name", hdrs: []*tar.Header{{Name: "../escaped", Typeflag: tar.TypeReg}}, wantErr: define.ErrArchiveEscape},
		{name: "inner dot dot name", hdrs: []*tar.Header{{Name: "a/../../escaped", Typeflag: tar.TypeReg}}, wantErr: define.ErrArchiveEscape},
		{name: "absolute name", hdrs: []*tar.Header{{Name: "/escaped", Typeflag: tar.TypeReg}}, wantErr: define.ErrArchiveEscape},
		{name: "hard link to outside", hdrs: []*tar.Header{{Name: "h", Typeflag: tar.TypeLink, Linkname: "../outside"}}, wantErr: define.ErrArchiveEscape},
		{name: "nested dirs made as needed", hdrs: []*tar.Header{{Name: "a/b/c", Typeflag: tar.TypeReg}}, want: "a/b/c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			root := filepath.Join(base, "root")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			err := extractTar(tarStream(t, "data", tc.hdrs...), root, ".", keepOwner, false)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("extractTar error %v, want %v", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(filepath.Join(base, "escaped")); err == nil {
				t.Fatal("an entry was written outside the root")
			}
			if tc.want != "" {
				if b, err := os.ReadFile(filepath.Join(root, tc.want)); err != nil || string(b) != "data" {
					t.Fatalf("%s: %q, %v", tc.want, b, err)
				}
			}
		})
	}
}

func TestExtractTarOverwrite(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fileOverDir := func() *bytes.Reader { return tarStream(t, "x", &tar.Header{Name: "d", Typeflag: tar.TypeReg}) }
	if err := extractTar(fileOverDir(), root, ".", keepOwner, false); !errors.Is(err, define.ErrInvalidArg) {
		t.Fatalf("file over directory without overwrite: %v", err)
	}
	if err := extractTar(tarStream(t, "", &tar.Header{Name: "f", Typeflag: tar.TypeDir, Mode: 0o755}), root, ".", keepOwner, false); !errors.Is(err, define.ErrInvalidArg) {
		t.Fatalf("directory over file without overwrite: %v", err)
	}
	if err := extractTar(fileOverDir(), root, ".", keepOwner, true); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "d")); err != nil || string(b) != "x" {
		t.Fatalf("after overwrite: %q, %v", b, err)
	}
	// A link at the destination is replaced, not written through.
	if err := os.Symlink("target", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := extractTar(tarStream(t, "new", &tar.Header{Name: "link", Typeflag: tar.TypeReg}), root, ".", keepOwner, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, "target")); err == nil {
		t.Fatal("the file was written through the link")
	}
}

// TestWriteTreeRoundTrip archives a tree and extracts it elsewhere: content,
// modes, links and hard links survive.
func TestWriteTreeRoundTrip(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "tree", "sub"), 0o750))
	must(os.WriteFile(filepath.Join(src, "tree", "sub", "f"), []byte("content"), 0o640))
	must(os.Link(filepath.Join(src, "tree", "sub", "f"), filepath.Join(src, "tree", "hard")))
	must(os.Symlink("/abs/target", filepath.Join(src, "tree", "link")))
	fi, err := os.Lstat(filepath.Join(src, "tree"))
	must(err)
	var buf bytes.Buffer
	must(writeTree(&buf, filepath.Join(src, "tree"), fi, "renamed", nil))
	dst := t.TempDir()
	must(extractTar(&buf, dst, ".", keepOwner, false))

	if b, err := os.ReadFile(filepath.Join(dst, "renamed", "sub", "f")); err != nil || string(b) != "content" {
		t.Fatalf("file: %q, %v", b, err)
	}
	if st, err := os.Stat(filepath.Join(dst, "renamed", "sub", "f")); err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("file mode: %v, %v", st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Join(dst, "renamed", "sub")); err != nil || st.Mode().Perm() != 0o750 {
		t.Fatalf("directory mode: %v, %v", st.Mode(), err)
	}
	if target, err := os.Readlink(filepath.Join(dst, "renamed", "link")); err != nil || target != "/abs/target" {
		t.Fatalf("link: %q, %v", target, err)
	}
	a, err1 := os.Stat(filepath.Join(dst, "renamed", "hard"))
	b, err2 := os.Stat(filepath.Join(dst, "renamed", "sub", "f"))
	if err1 != nil || err2 != nil || !os.SameFile(a, b) {
		t.Fatalf("hard link not kept: %v %v", err1, err2)
	}
}
