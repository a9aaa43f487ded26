package libengine

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

// tarEntry is one entry of a test archive.
type tarEntry struct {
	name, link, body string
	typ              byte
}

func writeTestTar(t *testing.T, path string, gz bool, entries []tarEntry) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: typ, Mode: 0o644, Size: int64(len(e.body))}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if gz {
		var zbuf bytes.Buffer
		zw := gzip.NewWriter(&zbuf)
		if _, err := zw.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		data = zbuf.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDetectFormat(t *testing.T) {
	t.Parallel()
	ociEntries := []tarEntry{{name: "oci-layout", body: "{}"}, {name: "blobs/", typ: tar.TypeDir}, {name: "index.json", body: "{}"}}
	dockerEntries := []tarEntry{{name: "abc.json", body: "{}"}, {name: "manifest.json", body: "[]"}}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, p string)
		want  string
	}{
		{"docker archive", func(t *testing.T, p string) { writeTestTar(t, p, false, dockerEntries) }, FormatDockerArchive},
		{"gzipped docker archive", func(t *testing.T, p string) { writeTestTar(t, p, true, dockerEntries) }, FormatDockerArchive},
		{"oci archive", func(t *testing.T, p string) { writeTestTar(t, p, false, ociEntries) }, FormatOCIArchive},
		{"oci archive with ./ names", func(t *testing.T, p string) {
			writeTestTar(t, p, true, []tarEntry{{name: "./", typ: tar.TypeDir}, {name: "./index.json", body: "{}"}})
		}, FormatOCIArchive},
		{"docker 25 archive with both", func(t *testing.T, p string) {
			writeTestTar(t, p, false, append(append([]tarEntry{}, ociEntries...), dockerEntries...))
		}, FormatDockerArchive},
		{"oci dir", func(t *testing.T, p string) {
			mustMkdir(t, p)
			mustWrite(t, filepath.Join(p, "index.json"), "{}")
		}, FormatOCIDir},
		{"dir transport", func(t *testing.T, p string) {
			mustMkdir(t, p)
			mustWrite(t, filepath.Join(p, "manifest.json"), "{}")
			mustWrite(t, filepath.Join(p, "version"), "Directory Transport Version: 1.1\n")
		}, FormatDockerDir},
		{"text file", func(t *testing.T, p string) { mustWrite(t, p, "hello, world\n") }, ""},
		{"empty file", func(t *testing.T, p string) { mustWrite(t, p, "") }, ""},
		{"gzipped text", func(t *testing.T, p string) {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			_, _ = zw.Write([]byte("not a tar"))
			_ = zw.Close()
			mustWrite(t, p, b.String())
		}, ""},
		{"tar of something else", func(t *testing.T, p string) {
			writeTestTar(t, p, false, []tarEntry{{name: "etc/passwd", body: "root:x:0:0::/root:/bin/sh\n"}})
		}, ""},
		{"empty directory", func(t *testing.T, p string) { mustMkdir(t, p) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "input")
			tc.setup(t, p)
			got, err := detectFormat(p, "input")
			if tc.want == "" {
				if !errors.Is(err, define.ErrUnsupportedFormat) {
					t.Errorf("detectFormat = %q, %v; want ErrUnsupportedFormat", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("detectFormat = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExtractOCIArchiveConfined feeds hostile archives to the extractor and
// checks that each is refused and that nothing appeared outside the
// extraction directory.
func TestExtractOCIArchiveConfined(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		entries []tarEntry
		want    error
	}{
		{"dot dot", []tarEntry{{name: "../escaped", body: "x"}}, define.ErrArchiveEscape},
		{"nested dot dot", []tarEntry{{name: "blobs/../../escaped", body: "x"}}, define.ErrArchiveEscape},
		{"absolute", []tarEntry{{name: "/tmp/escaped", body: "x"}}, define.ErrArchiveEscape},
		{"symlink out then write through it", []tarEntry{
			{name: "blobs", typ: tar.TypeSymlink, link: "../outside"},
			{name: "blobs/escaped", body: "x"},
		}, define.ErrUnsupportedFormat},
		{"absolute symlink", []tarEntry{{name: "index.json", typ: tar.TypeSymlink, link: "/etc/shadow"}}, define.ErrUnsupportedFormat},
		{"hard link", []tarEntry{{name: "index.json", typ: tar.TypeLink, link: "../../etc/shadow"}}, define.ErrUnsupportedFormat},
		{"device", []tarEntry{{name: "dev", typ: tar.TypeChar}}, define.ErrUnsupportedFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			dest := filepath.Join(base, "a", "b", "dest")
			mustMkdir(t, dest)
			mustMkdir(t, filepath.Join(base, "a", "b", "outside"))
			archive := filepath.Join(base, "hostile.tar")
			writeTestTar(t, archive, false, tc.entries)
			err := extractOCIArchive(archive, dest)
			if !errors.Is(err, tc.want) {
				t.Errorf("extractOCIArchive = %v, want %v", err, tc.want)
			}
			for _, p := range []string{
				filepath.Join(base, "a", "b", "escaped"),
				filepath.Join(base, "a", "b", "outside", "escaped"),
				filepath.Join(base, "a", "escaped"),
				"/tmp/escaped",
			} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written outside the destination", p)
				}
			}
		})
	}
}

func TestExtractOCIArchive(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	archive := filepath.Join(base, "ok.tar.gz")
	writeTestTar(t, archive, true, []tarEntry{
		{name: "./", typ: tar.TypeDir},
		{name: "./oci-layout", body: `{"imageLayoutVersion":"1.0.0"}`},
		{name: "./blobs/sha256/abc", body: "blob"},
		{name: "index.json", body: "{}"},
	})
	dest := filepath.Join(base, "dest")
	mustMkdir(t, dest)
	if err := extractOCIArchive(archive, dest); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dest, "blobs", "sha256", "abc"))
	if err != nil || string(b) != "blob" {
		t.Errorf("blob = %q, %v; want %q", b, err, "blob")
	}
}
