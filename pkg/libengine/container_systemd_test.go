package libengine

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteConmonPidFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "pod.pid")
	c := &ctr{cfg: containerConfig{ConmonPidFile: path}}
	for _, pid := range []int{1234, 56} { // a restart replaces the pid
		if err := writeConmonPidFile(c, pid); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "56\n" {
		t.Errorf("pid file %q, %v; want 56", b, err)
	}
	if err := writeConmonPidFile(&ctr{}, 1); err != nil {
		t.Errorf("a container without pid file: %v", err)
	}
	c.cfg.ConmonPidFile = filepath.Join(t.TempDir(), "missing", "dir", "p.pid")
	if err := writeConmonPidFile(c, 1); err == nil {
		t.Error("a pid file in a missing directory: no error")
	}
}
