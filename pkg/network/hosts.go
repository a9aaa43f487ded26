package network

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// Name resolution between containers is a kept /etc/hosts: each container
// on a network with DNS enabled lists its peers there, in a section the
// engine rewrites in place whenever a peer starts or stops (docs/networking.md
// says why this rather than a DNS server).

// HostEntry is one /etc/hosts line: an address and its names.
type HostEntry struct {
	Address netip.Addr
	Names   []string
}

const (
	peersBegin = "# engine: containers on the same networks, kept up to date by engine\n"
	peersEnd   = "# engine: end of containers\n"
)

// SetPeers replaces the section of the hosts file at path that lists the
// container's peers with entries (none removes it), rewriting the file in
// place: it is bind-mounted into a running container, so it must stay the
// same inode. Lines outside the section are kept.
func SetPeers(path string, entries []HostEntry) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read hosts file: %w", err)
	}
	data := append(withoutPeers(old), renderPeers(entries)...)
	if bytes.Equal(old, data) {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("update hosts file: %w", err)
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("update hosts file %s: %w", path, werr)
	}
	return nil
}

// withoutPeers returns data without the peers section.
func withoutPeers(data []byte) []byte {
	i := bytes.Index(data, []byte(peersBegin))
	if i < 0 {
		return data
	}
	out := append([]byte{}, data[:i]...)
	if j := bytes.Index(data[i:], []byte(peersEnd)); j >= 0 {
		out = append(out, data[i+j+len(peersEnd):]...)
	}
	return out
}

func renderPeers(entries []HostEntry) []byte {
	if len(entries) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(peersBegin)
	for _, e := range entries {
		fmt.Fprintf(&b, "%s\t%s\n", e.Address, strings.Join(e.Names, " "))
	}
	b.WriteString(peersEnd)
	return []byte(b.String())
}
