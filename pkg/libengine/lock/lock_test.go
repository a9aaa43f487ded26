package lock

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// TestExclusive checks that holders never overlap: each does a read, then a
// write, of a counter file inside the lock, which only adds up if the lock
// excludes. A file rather than a variable keeps the race detector out of it.
func TestExclusive(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "locks", "c1")
	counterFile := filepath.Join(dir, "counter")
	if err := os.WriteFile(counterFile, []byte("0"), 0o600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				// Each Acquire opens its own descriptor, so flock excludes
				// goroutines exactly as it excludes processes.
				l, err := Acquire(path)
				if err != nil {
					t.Error(err)
					return
				}
				b, err := os.ReadFile(counterFile)
				if err == nil {
					v, _ := strconv.Atoi(string(b))
					err = os.WriteFile(counterFile, []byte(strconv.Itoa(v+1)), 0o600)
				}
				l.Release()
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b, err := os.ReadFile(counterFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "1000" {
		t.Fatalf("counter = %s, want 1000: lock did not exclude", b)
	}
}

func TestReleaseNil(t *testing.T) {
	t.Parallel()
	var l *File
	l.Release()
}

func TestTryAcquire(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "l")
	held, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok, err := TryAcquire(path); ok || err != nil || l != nil {
		t.Fatalf("TryAcquire on a held lock = %v, %v, %v; want nil, false, nil", l, ok, err)
	}
	held.Release()
	l, ok, err := TryAcquire(path)
	if !ok || err != nil {
		t.Fatalf("TryAcquire on a free lock = %v, %v", ok, err)
	}
	l.Release()
}
