package specgen

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports fences the package: no CLI libraries, and nothing of the
// engine but define.
func TestImports(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			engine := strings.HasPrefix(p, "github.com/engine-oss/engine/") && p != "github.com/engine-oss/engine/pkg/libengine/define"
			if engine || strings.Contains(p, "cobra") || strings.Contains(p, "pflag") {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}
