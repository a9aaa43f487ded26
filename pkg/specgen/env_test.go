package specgen

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

var testHostEnv = []string{"HOME=/root", "LANG=C.UTF-8", "LC_ALL=C", "LC_TIME=en_GB", "EMPTY=", "LCX=1"}

func TestParseEnv(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   []string
		want map[string]string
		err  error
	}{
		{"key=value", []string{"A=1", "B=x=y"}, map[string]string{"A": "1", "B": "x=y"}, nil},
		{"empty value", []string{"A="}, map[string]string{"A": ""}, nil},
		{"later wins", []string{"A=1", "A=2"}, map[string]string{"A": "2"}, nil},
		{"host value", []string{"LANG", "EMPTY"}, map[string]string{"LANG": "C.UTF-8", "EMPTY": ""}, nil},
		{"missing on host", []string{"NOPE"}, map[string]string{}, nil},
		{"glob", []string{"LC_*"}, map[string]string{"LC_ALL": "C", "LC_TIME": "en_GB"}, nil},
		{"leading space trimmed", []string{"  A=1"}, map[string]string{"A": "1"}, nil},
		{"empty name", []string{"=A"}, nil, define.ErrInvalidArg},
		{"only equals", []string{"="}, nil, define.ErrInvalidArg},
		{"space in name", []string{"A B=1"}, nil, define.ErrInvalidArg},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseEnv(tc.in, testHostEnv)
			wantErr(t, err, tc.err, "--env")
			if tc.err == nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseEnv(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseEnvFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.env")
	content := "# comment\n\nA=1\n  B=\"quoted\"\nLANG\nLC_*\nC=with spaces \n"
	if err := os.WriteFile(good, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ParseEnvFile(good, testHostEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": `"quoted"`, "LANG": "C.UTF-8", "LC_ALL": "C", "LC_TIME": "en_GB", "C": "with spaces "}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseEnvFile = %v, want %v", got, want)
	}

	bad := filepath.Join(dir, "bad.env")
	if err := os.WriteFile(bad, []byte("A=1\n=2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = ParseEnvFile(bad, nil)
	wantErr(t, err, define.ErrInvalidArg, "--env-file", bad, "line 2")

	missing := filepath.Join(dir, "missing.env")
	_, err = ParseEnvFile(missing, nil)
	wantErr(t, err, define.ErrInvalidArg, "--env-file", missing)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file error %v does not carry the not-exist cause", err)
	}
}
