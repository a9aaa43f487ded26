// Package quadlet turns quadlet files (.container, .volume, .network, .pod,
// .image, .build: podman-systemd.unit(5)) into systemd service units whose
// commands run the engine; .kube files are refused, as the engine has no
// kube play. It is the systemd generator's whole work, so it imports only
// the standard library and pkg/systemd: systemd runs the generator at
// every boot and daemon-reload.
package quadlet

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/engine-oss/engine/pkg/systemd"
)

// The system-wide search path, most important first.
const (
	// RunDir holds transient quadlets, e.g. for tests.
	RunDir = "/run/containers/systemd"
	// AdminDir holds the administrator's quadlets; its users/ subdirectory
	// holds quadlets for every user's manager, users/UID for one user's.
	AdminDir = "/etc/containers/systemd"
	// DistroDir holds quadlets shipped by the distribution.
	DistroDir = "/usr/share/containers/systemd"
)

// SearchPath returns the default search path, most important first: RunDir,
// AdminDir and DistroDir for the system manager; for a user's manager
// $XDG_RUNTIME_DIR/containers/systemd (when runtimeDir is set),
// $XDG_CONFIG_HOME/containers/systemd, AdminDir/users/UID and AdminDir/users.
func SearchPath(user bool, uid int, runtimeDir, configHome string) []string {
	if !user {
		return []string{RunDir, AdminDir, DistroDir}
	}
	var dirs []string
	if runtimeDir != "" {
		dirs = append(dirs, filepath.Join(runtimeDir, "containers", "systemd"))
	}
	return append(dirs,
		filepath.Join(configHome, "containers", "systemd"),
		filepath.Join(AdminDir, "users", strconv.Itoa(uid)),
		filepath.Join(AdminDir, "users"))
}

// Options are the inputs of one generator run.
type Options struct {
	// User generates units for a user's service manager: no dependency on
	// network-online.target (a user manager cannot wait for system units),
	// and in AdminDir/users only the quadlets meant for users are read.
	User bool
	// Dirs is the search path, most important first (see SearchPath).
	// Each directory is searched with its subdirectories; of two quadlet
	// files with the same name the one found first is used. Directories
	// that do not exist are skipped.
	Dirs []string
	// Binary is the absolute path of the engine written into the units'
	// commands. Required.
	Binary string
}

// Unit is one generated service unit.
type Unit struct {
	// Name is the unit's file name, e.g. "web.service".
	Name string
	// Source is the quadlet file and DropIns the drop-ins merged into it,
	// in the order applied.
	Source  string
	DropIns []string
	// Links are the symlinks its [Install] section asks for, relative to
	// the output directory, e.g. "default.target.wants/web.service"; each
	// points at the unit. They stand in for `systemctl enable`, which
	// does not work on generated units.
	Links []string
	// Data is the unit file.
	Data []byte
}

// Result is what one generator run produced.
type Result struct {
	// Dirs are the directories searched, in order, subdirectories included.
	Dirs []string
	// Units has one unit per quadlet file converted, sorted by Name.
	Units []*Unit
	// Errors has an error per quadlet file or drop-in that is broken (every
	// problem in it: a broken file produces no unit, the others still do)
	// and per directory that could not be read; each is a
	// *systemd.FileError naming the file and, where one is at fault, the line.
	Errors []error
}

// Generate reads the quadlet files on opts.Dirs and converts each one. It
// returns an error only for unusable Options; problems with files are in
// Result.Errors.
func Generate(opts Options) (*Result, error) {
	return generate(opts, AdminDir)
}

func generate(opts Options, adminDir string) (*Result, error) {
	if !filepath.IsAbs(opts.Binary) {
		return nil, fmt.Errorf("engine binary %q: must be an absolute path", opts.Binary)
	}
	g := &generator{opts: opts, adminDir: adminDir, byName: map[string]*quadlet{}}
	g.res.Dirs = g.expandDirs()
	g.load()
	for _, q := range g.quadlets {
		q.setNames()
	}
	for _, q := range g.quadlets {
		g.addToPod(q)
	}
	for _, q := range g.quadlets {
		if u, errs := g.convert(q); len(errs) > 0 {
			g.res.Errors = append(g.res.Errors, errs...)
		} else {
			g.res.Units = append(g.res.Units, u)
		}
	}
	slices.SortFunc(g.res.Units, func(a, b *Unit) int { return cmp.Compare(a.Name, b.Name) })
	return &g.res, nil
}

// generator is the state of one run.
type generator struct {
	opts     Options
	adminDir string
	res      Result
	quadlets []*quadlet          // parsed files, sorted by name
	byName   map[string]*quadlet // by file name, e.g. "web.container"
}

// quadlet is one source file with its drop-ins merged.
type quadlet struct {
	name    string // "web.container"
	path    string
	kind    *kind
	file    *systemd.File
	dropins []string
	// service is the generated unit's name ("web.service"), resource the
	// engine object it creates ("systemd-web"), "" when it has no usable one.
	service  string
	resource string
	// podMembers are the services a .pod starts (Wants=, Before=).
	podMembers []string
}

// section is the quadlet's own section, e.g. [Container]; nil if absent.
func (q *quadlet) section() *systemd.Section { return q.file.Section(q.kind.section) }

// base is the file name without its extension: "web" for web.container.
func (q *quadlet) base() string { return strings.TrimSuffix(q.name, q.kind.ext) }

// expandDirs lists the directories to search: each of opts.Dirs followed by
// its subdirectories, except subdirectories that are themselves on the
// search path (they are searched at their own place) and other users'
// directories under AdminDir/users.
func (g *generator) expandDirs() []string {
	onPath := map[string]bool{}
	for _, d := range g.opts.Dirs {
		onPath[filepath.Clean(d)] = true
	}
	users := filepath.Join(g.adminDir, "users")
	var out []string
	for _, d := range g.opts.Dirs {
		root := filepath.Clean(d)
		if r, err := filepath.EvalSymlinks(root); err == nil {
			root = r
		}
		// The callback records errors and never ends the walk early.
		_ = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if p != root || !errors.Is(err, fs.ErrNotExist) {
					g.res.Errors = append(g.res.Errors, &systemd.FileError{Path: p, Err: err})
				}
				return nil
			}
			if !e.IsDir() {
				return nil
			}
			if p != root && (onPath[p] || g.otherUsersDir(users, p)) {
				return fs.SkipDir
			}
			out = append(out, p)
			return nil
		})
	}
	return out
}

// otherUsersDir reports whether dir holds quadlets this run must not read:
// AdminDir/users for the system manager, AdminDir/users/UID (another user's,
// as this user's is on the path itself) for a user's.
func (g *generator) otherUsersDir(users, dir string) bool {
	if !g.opts.User {
		return dir == users
	}
	if filepath.Dir(dir) != users {
		return false
	}
	_, err := strconv.Atoi(filepath.Base(dir))
	return err == nil
}

// load finds the quadlet files, parses them and merges their drop-ins.
func (g *generator) load() {
	var found []*quadlet
	for _, dir := range g.res.Dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			g.res.Errors = append(g.res.Errors, &systemd.FileError{Path: dir, Err: err})
			continue
		}
		for _, e := range entries {
			k := kindOf(e.Name())
			if k == nil || e.IsDir() || g.byName[e.Name()] != nil {
				continue
			}
			q := &quadlet{name: e.Name(), path: filepath.Join(dir, e.Name()), kind: k}
			g.byName[q.name] = q
			found = append(found, q)
		}
	}
	slices.SortFunc(found, func(a, b *quadlet) int { return cmp.Compare(a.name, b.name) })
	for _, q := range found {
		f, err := systemd.ReadFile(q.path)
		if err == nil {
			err = g.mergeDropins(q, f)
		}
		if err != nil {
			g.res.Errors = append(g.res.Errors, err)
			delete(g.byName, q.name)
			continue
		}
		q.file = f
		g.quadlets = append(g.quadlets, q)
	}
}

// mergeDropins applies the *.conf files of q's drop-in directories to f in
// the order of their file names. The directories are, most specific first:
// NAME.d, for an instance foo@bar.container the template's foo@.container.d,
// for a name with dashes foo-bar-baz the truncated foo-bar-.container.d and
// foo-.container.d, and the type's container.d. A file name found in more
// than one directory is taken from the most specific one, and between equal
// ones from the first on the search path.
func (g *generator) mergeDropins(q *quadlet, f *systemd.File) error {
	names := []string{q.name + ".d"}
	base := q.base()
	if at := strings.IndexByte(base, '@'); at >= 0 && at < len(base)-1 {
		names = append(names, base[:at+1]+q.kind.ext+".d")
	}
	for i := strings.LastIndexByte(base, '-'); i > 0; i = strings.LastIndexByte(base[:i], '-') {
		names = append(names, base[:i+1]+q.kind.ext+".d")
	}
	names = append(names, strings.TrimPrefix(q.kind.ext, ".")+".d")

	chosen := map[string]string{} // file name -> path
	for _, n := range names {
		for _, dir := range g.res.Dirs {
			entries, err := os.ReadDir(filepath.Join(dir, n))
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return &systemd.FileError{Path: filepath.Join(dir, n), Err: err}
			}
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".conf") && !e.IsDir() && chosen[e.Name()] == "" {
					chosen[e.Name()] = filepath.Join(dir, n, e.Name())
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(chosen)) {
		d, err := systemd.ReadFile(chosen[name])
		if err != nil {
			return err
		}
		f.Merge(d)
		q.dropins = append(q.dropins, chosen[name])
	}
	return nil
}

// setNames sets q's service and resource names, which other quadlets
// refer to: ServiceName= or NAME plus the kind's suffix, and the resource
// name key (ContainerName=, VolumeName=, …) or systemd-NAME.
func (q *quadlet) setNames() {
	if s := q.section().Value("ServiceName"); s != "" {
		q.service = s + ".service"
	} else {
		q.service = q.base() + q.kind.suffix + ".service"
	}
	q.resource = resourceName(q)
}

// addToPod lists a container that joins a .pod and starts with it in the
// pod's podMembers.
func (g *generator) addToPod(q *quadlet) {
	if q.kind.ext != ".container" {
		return
	}
	sec := q.section()
	pod := g.byName[sec.Value("Pod")]
	if pod == nil || pod.kind.ext != ".pod" {
		return
	}
	if start, err := parseBool(sec.Value("StartWithPod")); err == nil && !start {
		return
	}
	pod.podMembers = append(pod.podMembers, q.service)
}

// Write writes units and their [Install] symlinks into dir, the first of
// the directories systemd passes a generator, creating it if needed. It
// carries on past a failed file and returns every failure.
func Write(dir string, units []*Unit) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	for _, u := range units {
		if err := os.WriteFile(filepath.Join(dir, u.Name), u.Data, 0o644); err != nil {
			errs = append(errs, err)
			continue
		}
		for _, l := range u.Links {
			link := filepath.Join(dir, l)
			target, err := filepath.Rel(filepath.Dir(link), filepath.Join(dir, u.Name))
			if err == nil {
				err = os.MkdirAll(filepath.Dir(link), 0o755)
			}
			if err == nil {
				if err = os.Remove(link); errors.Is(err, fs.ErrNotExist) {
					err = nil
				}
			}
			if err == nil {
				err = os.Symlink(target, link)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("link %s to %s: %w", link, u.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}
