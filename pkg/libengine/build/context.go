package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// IgnoreFiles are the names of the ignore files in a context directory,
// in the order they are looked for: the first one found is used.
var IgnoreFiles = []string{".containerignore", ".dockerignore"}

// Tree is a directory COPY and ADD read from: the build context, with its
// ignore patterns, or a stage's or an image's root filesystem. Sources are
// resolved as if Root were "/": neither ".." nor a symbolic link leads
// outside it.
type Tree struct {
	// Root is the directory on the host, absolute and without symbolic links.
	Root string
	// What names the tree in errors: "the build context", "stage builder".
	What   string
	ignore *patternmatcher.PatternMatcher
}

// OpenContext opens a build context directory and reads its ignore file
// (.containerignore, else .dockerignore). Errors wrap fs.ErrNotExist for a
// missing directory and define.ErrInvalidArg for a bad ignore pattern.
func OpenContext(dir string) (*Tree, error) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("build context %s is not a directory: %w", dir, fs.ErrNotExist)
	}
	t := &Tree{Root: abs, What: "the build context"}
	for _, name := range IgnoreFiles {
		f, err := os.Open(filepath.Join(abs, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		patterns, err := ignorefile.ReadAll(f)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if t.ignore, err = patternmatcher.New(patterns); err != nil {
			return nil, fmt.Errorf("%s: %w: %w", name, err, define.ErrInvalidArg)
		}
		break
	}
	return t, nil
}

// ignored reports whether the ignore file excludes rel (slash-separated,
// relative to Root).
func (t *Tree) ignored(rel string) bool {
	if t.ignore == nil || rel == "." {
		return false
	}
	m, err := t.ignore.MatchesOrParentMatches(rel)
	return err == nil && m
}

// source is one file or directory a COPY source selected.
type source struct {
	// rel is the resolved path relative to Root (symbolic links on the
	// way followed inside the tree); name the base name the copy takes.
	rel, name string
	info      fs.FileInfo
	// data, when not nil, is a heredoc's content (rel is then empty).
	data *string
}

// Selection is what one COPY or ADD takes from a tree.
type Selection struct {
	tree    *Tree
	sources []source
}

// Select resolves COPY sources: paths relative to the tree's root
// (a leading "/" is ignored) with optional wildcards (*, ?, [...]) in any
// element. Errors wrap define.ErrInvalidArg for a path leading out of the
// tree and fs.ErrNotExist for a source that is missing or ignored.
func (t *Tree) Select(patterns []string) (*Selection, error) {
	s := &Selection{tree: t}
	for _, p := range patterns {
		clean := path.Clean("/" + filepath.ToSlash(p))
		if rel := path.Clean(filepath.ToSlash(p)); rel == ".." || strings.HasPrefix(rel, "../") {
			return nil, fmt.Errorf("%q is outside %s: sources must be inside it: %w", p, t.What, define.ErrInvalidArg)
		}
		rel := strings.TrimPrefix(clean, "/")
		if rel == "" {
			rel = "."
		}
		var matches []string
		if hasMeta(rel) {
			var err error
			if matches, err = t.glob(rel); err != nil {
				return nil, err
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("no file in %s matches %q: %w", t.What, p, fs.ErrNotExist)
			}
		} else {
			matches = []string{rel}
		}
		for _, m := range matches {
			src, err := t.resolve(m)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", p, err)
			}
			s.sources = append(s.sources, src)
		}
	}
	return s, nil
}

// AddContent adds a heredoc's content as a file named name.
func (s *Selection) AddContent(name, data string) {
	s.sources = append(s.sources, source{name: path.Base(name), data: &data})
}

// resolve finds rel in the tree, following symbolic links inside it.
func (t *Tree) resolve(rel string) (source, error) {
	if t.ignored(rel) {
		return source{}, fmt.Errorf("%s excludes it (see its ignore file): %w", t.What, fs.ErrNotExist)
	}
	full, err := securejoin.SecureJoin(t.Root, rel)
	if err != nil {
		return source{}, err
	}
	info, err := os.Lstat(full)
	if errors.Is(err, fs.ErrNotExist) {
		return source{}, fmt.Errorf("not found in %s: %w", t.What, fs.ErrNotExist)
	}
	if err != nil {
		return source{}, err
	}
	resolved, err := filepath.Rel(t.Root, full)
	if err != nil {
		return source{}, err
	}
	if resolved != "." && t.ignored(filepath.ToSlash(resolved)) {
		return source{}, fmt.Errorf("it leads to %s, which the ignore file excludes: %w", resolved, fs.ErrNotExist)
	}
	return source{rel: filepath.ToSlash(resolved), name: path.Base(rel), info: info}, nil
}

// glob expands a pattern one path element at a time, as Docker matches
// COPY sources; ignored paths do not match.
func (t *Tree) glob(pattern string) ([]string, error) {
	cands := []string{"."}
	for _, elem := range strings.Split(pattern, "/") {
		var next []string
		for _, dir := range cands {
			if !hasMeta(elem) {
				next = append(next, path.Join(dir, elem))
				continue
			}
			full, err := securejoin.SecureJoin(t.Root, dir)
			if err != nil {
				return nil, err
			}
			entries, err := os.ReadDir(full)
			if err != nil {
				continue // not a directory, or missing: no match below it
			}
			for _, e := range entries {
				ok, err := path.Match(elem, e.Name())
				if err != nil {
					return nil, fmt.Errorf("pattern %q: %w: %w", pattern, err, define.ErrInvalidArg)
				}
				if p := path.Join(dir, e.Name()); ok && !t.ignored(p) {
					next = append(next, p)
				}
			}
		}
		cands = next
	}
	var out []string
	for _, c := range cands {
		full, err := securejoin.SecureJoin(t.Root, c)
		if err != nil {
			return nil, err
		}
		if _, err := os.Lstat(full); err == nil {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out, nil
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// Path returns where the i-th source is on the host.
func (s *Selection) Path(i int) string { return filepath.Join(s.tree.Root, s.sources[i].rel) }
