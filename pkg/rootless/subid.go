package rootless

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The files listing each user's subordinate ids, as shadow's.
const (
	SubUIDFile = "/etc/subuid"
	SubGIDFile = "/etc/subgid"
)

// IDRange is a range of subordinate ids: Count ids from Start.
type IDRange struct {
	Start, Count uint32
}

func (r IDRange) end() uint64 { return uint64(r.Start) + uint64(r.Count) }

// SubIDRanges returns the ranges path (/etc/subuid or /etc/subgid) gives
// the user, named by name or by number, in file order. A missing file gives
// none. Every line must be "USER:START:COUNT" (empty lines and lines
// starting with '#' are skipped): a malformed line anywhere, or ranges of
// the user that overlap, return an error naming the file and the line.
func SubIDRanges(path, name string, id int) ([]IDRange, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read subordinate ids: %w", err)
	}
	defer func() { _ = f.Close() }()
	var ranges []IDRange
	var lines []int
	idStr := strconv.Itoa(id)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		owner, r, err := parseSubIDLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %q: %w: fix or remove the line (format USER:START:COUNT, e.g. %s:100000:65536)", path, n, line, err, name)
		}
		if owner != name && owner != idStr {
			continue
		}
		for i, prev := range ranges {
			if uint64(r.Start) < prev.end() && uint64(prev.Start) < r.end() {
				return nil, fmt.Errorf("%s:%d: range %d-%d of %s overlaps the range %d-%d on line %d: remove one of them (usermod --del-subuids/--del-subgids)",
					path, n, r.Start, r.end()-1, name, prev.Start, prev.end()-1, lines[i])
			}
		}
		ranges = append(ranges, r)
		lines = append(lines, n)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return ranges, nil
}

func parseSubIDLine(line string) (string, IDRange, error) {
	fields := strings.Split(line, ":")
	if len(fields) != 3 || fields[0] == "" {
		return "", IDRange{}, errors.New("want 3 fields separated by ':'")
	}
	start, err := strconv.ParseUint(fields[1], 10, 32)
	if err != nil {
		return "", IDRange{}, fmt.Errorf("start %q is not a number from 0 to 4294967295", fields[1])
	}
	count, err := strconv.ParseUint(fields[2], 10, 32)
	if err != nil || count == 0 {
		return "", IDRange{}, fmt.Errorf("count %q is not a number from 1 to 4294967295", fields[2])
	}
	if start+count > 1<<32-1 {
		return "", IDRange{}, fmt.Errorf("range %d+%d ends beyond the last id, 4294967294", start, count)
	}
	return fields[0], IDRange{Start: uint32(start), Count: uint32(count)}, nil
}

// NamespaceMap is the map of the user namespace Enter creates: id 0 is
// the user's own id, then each subordinate range in turn.
func NamespaceMap(id int, ranges []IDRange) []specs.LinuxIDMapping {
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(id), Size: 1}}
	next := uint32(1)
	for _, r := range ranges {
		m = append(m, specs.LinuxIDMapping{ContainerID: next, HostID: r.Start, Size: r.Count})
		next += r.Count
	}
	return m
}
