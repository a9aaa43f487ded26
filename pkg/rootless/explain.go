package rootless

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// chownErrorRE matches the message containers/storage gives when it cannot
// give a file of a layer its owner because the user namespace does not map
// that id.
var chownErrorRE = regexp.MustCompile(`(?:potentially )?insufficient UIDs or GIDs available in (?:the )?user namespace \(requested (\d+):(\d+) for ([^)]*)\)`)

// IDMapError is a file whose owner the user namespace does not map: an
// image built for a system with more ids than the user has.
type IDMapError struct {
	// Context is what failed, from the store's message ("" if nothing).
	Context string
	// Path is the file, UID and GID its owner.
	Path     string
	UID, GID uint64
	// UIDs and GIDs are how many ids the namespace maps (0 if unknown).
	UIDs, GIDs uint64
	// Err is the store's error.
	Err error
}

func (e *IDMapError) Error() string {
	var what []string
	if e.UIDs == 0 || e.UID >= e.UIDs {
		what = append(what, fmt.Sprintf("uid %d", e.UID))
	}
	if e.GIDs == 0 || e.GID >= e.GIDs {
		what = append(what, fmt.Sprintf("gid %d", e.GID))
	}
	if len(what) == 0 {
		what = append(what, fmt.Sprintf("uid %d gid %d", e.UID, e.GID))
	}
	need := max(e.UID, e.GID)
	msg := fmt.Sprintf("%s is owned by %s, which does not fit in your user namespace: it maps ids 0-%d (0 is you, the rest come from %s and %s). Give your user a range of at least %d ids (usermod --add-subuids 100000-%d --add-subgids 100000-%d USER), then run `engine system migrate`",
		e.Path, strings.Join(what, " and "), max(e.UIDs, 1)-1, SubUIDFile, SubGIDFile, need, 100000+need-1, 100000+need-1)
	if e.Context != "" {
		return e.Context + ": " + msg
	}
	return msg
}

func (e *IDMapError) Unwrap() error { return e.Err }

// ExplainIDError turns the store's error about a file owner the user
// namespace does not map into an *IDMapError naming the file and the id,
// and saying how to get more ids. Other errors, and any error of a
// rootful engine, are returned unchanged.
func ExplainIDError(err error) error {
	if err == nil || !Enabled() {
		return err
	}
	msg := err.Error()
	loc := chownErrorRE.FindStringSubmatchIndex(msg)
	if loc == nil {
		return err
	}
	uid, _ := strconv.ParseUint(msg[loc[2]:loc[3]], 10, 32)
	gid, _ := strconv.ParseUint(msg[loc[4]:loc[5]], 10, 32)
	return &IDMapError{
		Context: strings.TrimRight(msg[:loc[0]], " :("),
		Path:    msg[loc[6]:loc[7]],
		UID:     uid, GID: gid,
		UIDs: mappedIDs("/proc/self/uid_map"),
		GIDs: mappedIDs("/proc/self/gid_map"),
		Err:  err,
	}
}

// mappedIDs is the number of ids a uid_map or gid_map maps, assuming the
// ranges follow each other from 0, as those Enter writes.
func mappedIDs(path string) uint64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var n uint64
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		size, err := strconv.ParseUint(f[2], 10, 64)
		if err == nil {
			n += size
		}
	}
	return n
}
