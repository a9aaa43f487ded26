package rootless

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSubIDRanges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, content string
		want          []IDRange
		errParts      []string
	}{
		{"by name", "alice:100000:65536\nbob:165536:65536\n", []IDRange{{100000, 65536}}, nil},
		{"by uid, comments and blank lines", "# admin\n\n1000:200000:1000\n", []IDRange{{200000, 1000}}, nil},
		{"several ranges", "alice:100000:10\nalice:300000:5\n", []IDRange{{100000, 10}, {300000, 5}}, nil},
		{"none", "bob:100000:65536\n", nil, nil},
		{"too few fields", "bob:100000:65536\nalice:100000\n", nil, []string{"subuid:2", `"alice:100000"`, "3 fields"}},
		{"bad start", "alice:x:65536\n", nil, []string{"subuid:1", `start "x"`}},
		{"zero count", "alice:100000:0\n", nil, []string{"subuid:1", `count "0"`}},
		{"beyond the last id", "alice:4294967000:1000\n", nil, []string{"subuid:1", "beyond the last id"}},
		{"overlap", "alice:100000:65536\nbob:0:1\nalice:165000:10\n", nil, []string{"subuid:3", "overlaps", "line 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "subuid")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := SubIDRanges(path, "alice", 1000)
			if len(tc.errParts) > 0 {
				if err == nil {
					t.Fatalf("no error, want one with %q", tc.errParts)
				}
				for _, p := range tc.errParts {
					if !strings.Contains(err.Error(), p) {
						t.Errorf("error %q lacks %q", err, p)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSubIDRangesMissingFile(t *testing.T) {
	t.Parallel()
	got, err := SubIDRanges(filepath.Join(t.TempDir(), "none"), "alice", 1000)
	if err != nil || got != nil {
		t.Fatalf("got %v, %v; want no ranges and no error", got, err)
	}
}

func TestNamespaceMap(t *testing.T) {
	t.Parallel()
	got := NamespaceMap(1000, []IDRange{{100000, 65536}, {300000, 10}})
	want := []specs.LinuxIDMapping{
		{ContainerID: 0, HostID: 1000, Size: 1},
		{ContainerID: 1, HostID: 100000, Size: 65536},
		{ContainerID: 65537, HostID: 300000, Size: 10},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
