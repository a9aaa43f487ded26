// Package testimage owns the images the project's tests pull: small OCI image
// layouts built from the host's static busybox (Debian package
// busybox-static), byte-for-byte identical on every run, and the means to
// break them on purpose: hostile layer archives (WriteLayerTar,
// Options.CustomLayers) and blobs whose bytes no longer match their digest
// (CorruptBlob, CorruptLayer). Push copies a layout to a registry.
package testimage

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BusyboxPath is the static busybox copied into every image's first layer.
const BusyboxPath = "/bin/busybox"

// DefaultPath is the image's PATH when Options.Env is nil.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// applets are linked to /bin/busybox in the first layer.
var applets = []string{
	"[", "basename", "cat", "chmod", "chown", "cp", "cut", "date", "dd", "df",
	"dirname", "du", "echo", "env", "false", "find", "grep", "head", "hostname",
	"httpd", "id", "ifconfig", "ip", "kill", "ln", "ls", "mkdir", "mktemp",
	"mount", "mv", "nc", "nslookup", "ping", "printf", "ps", "pwd", "readlink",
	"realpath", "rm", "sed", "seq", "sh", "sleep", "sort", "stat", "tail",
	"tar", "tee", "test", "timeout", "top", "touch", "true", "umount", "uname",
	"uniq", "wc", "wget", "whoami", "xargs", "yes",
}

// Options describe an image. The zero value is a valid one-layer busybox
// image for the host's architecture.
type Options struct {
	// Layers is the number of layers, at least 1 (zero means 1). Layer 1
	// holds /bin/busybox, its applet symlinks in /bin, /usr/bin/env, /etc/passwd
	// and /etc/group (root and nobody), /tmp (1777), /root, /var, /home; layer
	// N>1 holds /layerN/data, whose content depends on N only.
	Layers int
	// ExtraFiles are added in one more layer (path -> content), with their
	// parent directories. Files starting with "#!" get mode 0755, others 0644.
	ExtraFiles map[string][]byte
	// PadBytes, when positive, adds a layer holding /pad/data: this many
	// pseudo-random (incompressible, yet deterministic) bytes, for benchmarks.
	PadBytes int64
	// CustomLayers are appended last, each written as given by WriteLayerTar.
	CustomLayers [][]Entry

	// Entrypoint and Cmd default to Cmd ["sh"] when both are nil.
	Entrypoint, Cmd []string
	// Env defaults to []string{DefaultPath} when nil; []string{} means none.
	Env                          []string
	WorkingDir, User, StopSignal string
	Labels                       map[string]string
	// ExposedPorts are like "80/tcp"; Volumes are container paths.
	ExposedPorts, Volumes []string
	// Created is zero for a fixed time (2024-01-01T00:00:00Z).
	Created time.Time
	// Arch and OS default to runtime.GOARCH and "linux". The layers still
	// hold the host's busybox.
	Arch, OS string
	// RefName, if set, is index.json's org.opencontainers.image.ref.name, so
	// the layout is also reachable as oci:DIR:REFNAME.
	RefName string
}

// WriteOCILayout writes the image described by opts as an OCI image layout
// in dir (created if missing): oci-layout, index.json naming exactly this
// image, and blobs/sha256/*, with gzip-compressed layers. The same options
// give the same manifest digest on every run with the same busybox binary.
// An existing index.json in dir is replaced; existing blobs are kept.
func WriteOCILayout(dir string, opts Options) (digest.Digest, error) {
	if opts.Layers < 0 {
		return "", fmt.Errorf("testimage: Layers is %d, want at least 1", opts.Layers)
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return "", err
	}
	var layers []ocispec.Descriptor
	var diffIDs []digest.Digest
	var history []ocispec.History
	created := opts.Created
	if created.IsZero() {
		created = epoch
	}
	add := func(what string, level int, fill func(io.Writer) error) error {
		desc, diffID, err := writeLayer(dir, level, fill)
		if err != nil {
			return fmt.Errorf("testimage: layer %s: %w", what, err)
		}
		layers = append(layers, desc)
		diffIDs = append(diffIDs, diffID)
		history = append(history, ocispec.History{Created: &created, CreatedBy: "testimage: " + what})
		return nil
	}
	addEntries := func(what string, entries []Entry) error {
		return add(what, gzip.DefaultCompression, func(w io.Writer) error { return WriteLayerTar(w, entries) })
	}

	base, err := baseEntries()
	if err != nil {
		return "", err
	}
	if err := addEntries("busybox", base); err != nil {
		return "", err
	}
	for n := 2; n <= opts.Layers; n++ {
		files := map[string][]byte{
			fmt.Sprintf("layer%d/data", n): []byte(strings.Repeat(fmt.Sprintf("layer %d\n", n), 64*n)),
		}
		if err := addEntries(fmt.Sprintf("layer %d", n), fileEntries(files)); err != nil {
			return "", err
		}
	}
	if len(opts.ExtraFiles) > 0 {
		if err := addEntries("extra files", fileEntries(opts.ExtraFiles)); err != nil {
			return "", err
		}
	}
	if opts.PadBytes > 0 {
		// Deflate cannot shrink random bytes; the fastest level saves time.
		if err := add(fmt.Sprintf("pad %d bytes", opts.PadBytes), gzip.BestSpeed, func(w io.Writer) error {
			return writePad(w, opts.PadBytes)
		}); err != nil {
			return "", err
		}
	}
	for i, entries := range opts.CustomLayers {
		if err := addEntries(fmt.Sprintf("custom %d", i+1), entries); err != nil {
			return "", err
		}
	}

	img := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{Architecture: orDefault(opts.Arch, runtime.GOARCH), OS: orDefault(opts.OS, "linux")},
		Config:   imageConfig(opts),
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: diffIDs},
		History:  history,
	}
	config, err := writeJSON(dir, ocispec.MediaTypeImageConfig, img)
	if err != nil {
		return "", err
	}
	manifest, err := writeJSON(dir, ocispec.MediaTypeImageManifest, ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    config,
		Layers:    layers,
	})
	if err != nil {
		return "", err
	}
	manifest.Platform = &img.Platform
	if opts.RefName != "" {
		manifest.Annotations = map[string]string{ocispec.AnnotationRefName: opts.RefName}
	}
	index, err := json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{manifest},
	})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, ocispec.ImageLayoutFile), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, ocispec.ImageIndexFile), index, 0o644); err != nil {
		return "", err
	}
	return manifest.Digest, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func imageConfig(opts Options) ocispec.ImageConfig {
	c := ocispec.ImageConfig{
		User:       opts.User,
		Env:        opts.Env,
		Entrypoint: opts.Entrypoint,
		Cmd:        opts.Cmd,
		WorkingDir: opts.WorkingDir,
		Labels:     opts.Labels,
		StopSignal: opts.StopSignal,
	}
	if c.Env == nil {
		c.Env = []string{DefaultPath}
	}
	if c.Entrypoint == nil && c.Cmd == nil {
		c.Cmd = []string{"sh"}
	}
	if len(opts.ExposedPorts) > 0 {
		c.ExposedPorts = map[string]struct{}{}
		for _, p := range opts.ExposedPorts {
			c.ExposedPorts[p] = struct{}{}
		}
	}
	if len(opts.Volumes) > 0 {
		c.Volumes = map[string]struct{}{}
		for _, v := range opts.Volumes {
			c.Volumes[v] = struct{}{}
		}
	}
	return c
}

// baseEntries is the content of layer 1, sorted.
func baseEntries() ([]Entry, error) {
	bb, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, fmt.Errorf("testimage: read %s: %w (install Debian package busybox-static)", BusyboxPath, err)
	}
	entries := []Entry{
		{Name: "bin/", Type: tar.TypeDir},
		{Name: "bin/busybox", Mode: 0o755, Content: bb},
		{Name: "dev/", Type: tar.TypeDir},
		{Name: "etc/", Type: tar.TypeDir},
		{Name: "etc/group", Content: []byte("root:x:0:\nnobody:x:65534:\n")},
		{Name: "etc/passwd", Content: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")},
		{Name: "home/", Type: tar.TypeDir},
		{Name: "proc/", Type: tar.TypeDir},
		{Name: "root/", Type: tar.TypeDir, Mode: 0o700},
		{Name: "sys/", Type: tar.TypeDir},
		{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
		{Name: "usr/", Type: tar.TypeDir},
		{Name: "usr/bin/", Type: tar.TypeDir},
		{Name: "usr/bin/env", Type: tar.TypeSymlink, Linkname: "/bin/busybox"},
		{Name: "var/", Type: tar.TypeDir},
		{Name: "var/tmp/", Type: tar.TypeDir, Mode: 0o1777},
	}
	for _, a := range applets {
		entries = append(entries, Entry{Name: "bin/" + a, Type: tar.TypeSymlink, Linkname: "busybox"})
	}
	sortEntries(entries)
	return entries, nil
}

// fileEntries turns path -> content into sorted entries with parent dirs.
func fileEntries(files map[string][]byte) []Entry {
	dirs := map[string]bool{}
	var entries []Entry
	for p, content := range files {
		p = strings.TrimPrefix(path.Clean("/"+p), "/")
		mode := int64(0o644)
		if strings.HasPrefix(string(content), "#!") {
			mode = 0o755
		}
		entries = append(entries, Entry{Name: p, Mode: mode, Content: content})
		for d := path.Dir(p); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			entries = append(entries, Entry{Name: d + "/", Type: tar.TypeDir})
		}
	}
	sortEntries(entries)
	return entries
}

func sortEntries(entries []Entry) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
}

// writePad writes the tar of /pad/data holding n pseudo-random bytes.
func writePad(w io.Writer, n int64) error {
	tw := tar.NewWriter(w)
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeDir, Name: "pad/", Mode: 0o755, ModTime: epoch},
		{Typeflag: tar.TypeReg, Name: "pad/data", Mode: 0o644, Size: n, ModTime: epoch},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	src := rand.NewChaCha8([32]byte{'t', 'e', 's', 't', 'i', 'm', 'a', 'g', 'e'})
	if _, err := io.CopyN(tw, src, n); err != nil {
		return err
	}
	return tw.Close()
}

// writeLayer gzips the tar written by fill into a blob of dir and returns
// its descriptor and the digest of the uncompressed tar.
func writeLayer(dir string, level int, fill func(io.Writer) error) (ocispec.Descriptor, digest.Digest, error) {
	var diffID digest.Digest
	desc, err := writeBlob(dir, func(w io.Writer) error {
		zw, err := gzip.NewWriterLevel(w, level)
		if err != nil {
			return err
		}
		d := digest.SHA256.Digester()
		if err := fill(io.MultiWriter(zw, d.Hash())); err != nil {
			return err
		}
		diffID = d.Digest()
		return zw.Close()
	})
	desc.MediaType = ocispec.MediaTypeImageLayerGzip
	return desc, diffID, err
}

func writeJSON(dir, mediaType string, v any) (ocispec.Descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc, err := writeBlob(dir, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
	desc.MediaType = mediaType
	return desc, err
}

// writeBlob stores what fill writes under blobs/sha256 of dir.
func writeBlob(dir string, fill func(io.Writer) error) (ocispec.Descriptor, error) {
	blobs := filepath.Join(dir, "blobs", "sha256")
	f, err := os.CreateTemp(blobs, ".tmp-")
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer func() { _ = os.Remove(f.Name()) }() // fails harmlessly once renamed
	d := digest.SHA256.Digester()
	cw := &countingWriter{w: io.MultiWriter(f, d.Hash())}
	err = fill(cw)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(blobs, d.Digest().Encoded()))
	}
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return ocispec.Descriptor{Digest: d.Digest(), Size: cw.n}, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// readManifest returns the manifest of the single image in a layout.
func readManifest(layoutDir string) (ocispec.Manifest, error) {
	var index ocispec.Index
	var m ocispec.Manifest
	if err := readJSON(filepath.Join(layoutDir, ocispec.ImageIndexFile), &index); err != nil {
		return m, err
	}
	if len(index.Manifests) != 1 {
		return m, fmt.Errorf("testimage: %s lists %d manifests, want 1", layoutDir, len(index.Manifests))
	}
	err := readJSON(BlobPath(layoutDir, index.Manifests[0].Digest), &m)
	return m, err
}

func readJSON(p string, v any) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("testimage: %s: %w", p, err)
	}
	return nil
}

// BlobPath is where a layout keeps the blob with digest d.
func BlobPath(layoutDir string, d digest.Digest) string {
	return filepath.Join(layoutDir, "blobs", d.Algorithm().String(), d.Encoded())
}

// Layers lists the layer descriptors of the single image in a layout,
// bottom first.
func Layers(layoutDir string) ([]ocispec.Descriptor, error) {
	m, err := readManifest(layoutDir)
	if err != nil {
		return nil, err
	}
	if len(m.Layers) == 0 {
		return nil, errors.New("testimage: manifest has no layers")
	}
	return m.Layers, nil
}
