package quadlet

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestImportsStaySmall keeps the generator's code to the standard library
// and pkg/systemd: systemd runs it at every boot and daemon-reload, and a
// generator binary of its own must stay possible.
func TestImportsStaySmall(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not in PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	got := strings.Fields(string(out))
	want := []string{"github.com/engine-oss/engine/pkg/systemd", "github.com/engine-oss/engine/pkg/systemd/quadlet"}
	if !slices.Equal(got, want) {
		t.Errorf("non-standard dependencies %v, want only %v", got, want)
	}
}

// BenchmarkGenerate100 converts 100 .container files, as a host with many
// quadlets does at boot; the generator's budget is 100 ms.
func BenchmarkGenerate100(b *testing.B) {
	dir := b.TempDir()
	for i := range 100 {
		data := fmt.Sprintf("[Unit]\nDescription=app %d\n[Container]\nImage=quay.io/example/app:%d\nPublishPort=%d:80\nVolume=/srv/app%d:/data:Z\nEnvironment=N=%d\nLabel=app=%d\n[Install]\nWantedBy=default.target\n", i, i, 8000+i, i, i, i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("app%03d.container", i)), []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		res, err := Generate(Options{Dirs: []string{dir}, Binary: testBinary})
		if err != nil || len(res.Units) != 100 {
			b.Fatalf("%v, %d units", err, len(res.Units))
		}
	}
}
