// Package build holds what `engine build` needs that is not the store:
// parsing Containerfiles with BuildKit's parser, expanding variables as
// the Dockerfile reference defines, reading the build context with its
// ignore file, turning COPY and ADD sources into a layer's tar stream, and
// the keys of the layer cache. The engine's ImageBuild drives it.
package build

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// File is a parsed Containerfile.
type File struct {
	// Name is the file's name as errors show it.
	Name string
	// Stages are the FROM blocks in order.
	Stages []instructions.Stage
	// MetaArgs are the ARG instructions before the first FROM.
	MetaArgs []instructions.ArgCommand
	// Escape is the escape character (the escape= directive, or '\').
	Escape rune
	// Warnings are the parser's, e.g. empty continuation lines.
	Warnings []string
}

// Parse reads a Containerfile. name is the file's name for messages
// ("Containerfile", a path, or "stdin"). Errors say NAME:LINE: and wrap
// define.ErrInvalidArg: a syntax error, an unknown instruction, or a file
// without FROM.
func Parse(r io.Reader, name string) (*File, error) {
	res, err := parser.Parse(r)
	if err != nil {
		return nil, located(name, err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, located(name, err)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM instruction: a Containerfile starts with FROM IMAGE (or FROM scratch): %w", name, define.ErrInvalidArg)
	}
	f := &File{Name: name, Stages: stages, MetaArgs: metaArgs, Escape: res.EscapeToken}
	for _, w := range res.Warnings {
		msg := w.Short
		if w.Location != nil {
			msg = fmt.Sprintf("%s:%d: %s", name, w.Location.Start.Line, msg)
		}
		f.Warnings = append(f.Warnings, msg)
	}
	return f, nil
}

// located turns a BuildKit error into "NAME:LINE: message" without
// BuildKit's own "dockerfile parse error on line N" prefix.
func located(name string, err error) error {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return fmt.Errorf("%s:%d: %s: %w", name, le.Locations[0][0].Start.Line, le.Error(), define.ErrInvalidArg)
	}
	return fmt.Errorf("%s: %s: %w", name, err.Error(), define.ErrInvalidArg)
}

// StageIndex finds a stage by name (case-insensitive) or by its number
// among the stages before stage before (a stage can only use earlier
// ones). It returns -1 when there is no such stage.
func (f *File) StageIndex(ref string, before int) int {
	for i := 0; i < before && i < len(f.Stages); i++ {
		if f.Stages[i].Name != "" && strings.EqualFold(f.Stages[i].Name, ref) {
			return i
		}
	}
	var n int
	if _, err := fmt.Sscanf(ref, "%d", &n); err == nil && fmt.Sprint(n) == ref && n >= 0 && n < before {
		return n
	}
	return -1
}

// Target returns the index of the stage named target, or of the last
// stage when target is empty. Errors wrap define.ErrInvalidArg.
func (f *File) Target(target string) (int, error) {
	if target == "" {
		return len(f.Stages) - 1, nil
	}
	if i := f.StageIndex(target, len(f.Stages)); i >= 0 {
		return i, nil
	}
	return 0, fmt.Errorf("--target %q: no stage of that name in %s: %w", target, f.Name, define.ErrInvalidArg)
}

// Needed lists, in order, the stages the target stage depends on through
// FROM STAGE and COPY --from=STAGE, and the target itself. Stages nothing
// needs are not built, as BuildKit and podman skip them.
func (f *File) Needed(target int) []int {
	need := map[int]bool{}
	var visit func(i int)
	visit = func(i int) {
		if need[i] {
			return
		}
		need[i] = true
		if j := f.StageIndex(f.Stages[i].BaseName, i); j >= 0 {
			visit(j)
		}
		for _, c := range f.Stages[i].Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
				if j := f.StageIndex(cp.From, i); j >= 0 {
					visit(j)
				}
			}
		}
	}
	visit(target)
	var out []int
	for i := range f.Stages {
		if need[i] {
			out = append(out, i)
		}
	}
	return out
}
