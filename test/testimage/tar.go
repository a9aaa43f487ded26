package testimage

import (
	"archive/tar"
	"fmt"
	"io"
	"time"
)

// epoch is the fixed time stamped on every tar entry and, by default, on the
// image config: 2024-01-01T00:00:00Z.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Entry is one member of a layer archive. Names are written exactly as given,
// so "../escape", "/abs" or ".wh.file" are possible: that is the point.
type Entry struct {
	Name string
	// Type is a tar type flag; zero means tar.TypeReg.
	Type byte
	// Mode holds permission bits (with setuid/setgid/sticky as 04000/02000/01000);
	// zero means 0644 for files, 0755 for directories, 0777 for symlinks.
	Mode int64
	// Linkname is the target of a symlink or hard link.
	Linkname string
	// Content is the body of a regular file.
	Content  []byte
	UID, GID int
}

// WriteLayerTar writes entries as an uncompressed tar stream, in the order
// given and with a fixed modification time, so the same entries always give
// the same bytes. It does not validate or sort names.
func WriteLayerTar(w io.Writer, entries []Entry) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		hdr := &tar.Header{
			Typeflag: e.Type,
			Name:     e.Name,
			Linkname: e.Linkname,
			Mode:     e.Mode,
			Uid:      e.UID,
			Gid:      e.GID,
			ModTime:  epoch,
		}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			switch hdr.Typeflag {
			case tar.TypeDir:
				hdr.Mode = 0o755
			case tar.TypeSymlink:
				hdr.Mode = 0o777
			default:
				hdr.Mode = 0o644
			}
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.Content))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("tar entry %q: %w", e.Name, err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write(e.Content); err != nil {
				return fmt.Errorf("tar entry %q: %w", e.Name, err)
			}
		}
	}
	return tw.Close()
}
