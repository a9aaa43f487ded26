package testimage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"

	"github.com/opencontainers/go-digest"
)

// CorruptBlob rewrites a gzip blob in place so that its bytes no longer match
// the digest it is stored under, while it keeps its name, size, and a valid
// gzip stream of the very same tar: only the gzip header's time stamp
// changes. A puller therefore fails on digest verification and nothing
// earlier (no size, decompression or diff ID error). It works on a layout's
// blob (BlobPath) and on a registry's (registry.Registry.BlobPath).
func CorruptBlob(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	hdr := make([]byte, 10)
	_, err = f.ReadAt(hdr, 0)
	if err == nil && !bytes.HasPrefix(hdr, []byte{0x1f, 0x8b, 0x08}) {
		err = fmt.Errorf("testimage: %s is not a gzip blob", path)
	}
	if err == nil {
		binary.LittleEndian.PutUint32(hdr[4:8], binary.LittleEndian.Uint32(hdr[4:8])+1)
		_, err = f.WriteAt(hdr[4:8], 4)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// CorruptLayer corrupts the top layer of the single image in a layout with
// CorruptBlob and returns that layer's digest. A blob is shared by every
// image holding the same layer: give the image a unique top layer (say,
// ExtraFiles naming the test) before corrupting a copy others may read.
func CorruptLayer(layoutDir string) (digest.Digest, error) {
	layers, err := Layers(layoutDir)
	if err != nil {
		return "", err
	}
	d := layers[len(layers)-1].Digest
	return d, CorruptBlob(BlobPath(layoutDir, d))
}
