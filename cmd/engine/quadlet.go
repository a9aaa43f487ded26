package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/systemd/quadlet"
	"github.com/spf13/cobra"
)

// The names the binary answers to as a systemd generator; `make install`
// links them into systemd's generator directories.
const (
	systemGeneratorName = "engine-system-generator"
	userGeneratorName   = "engine-user-generator"
)

// quadletOptions are the flags of `engine quadlet` and of the generator.
type quadletOptions struct {
	dryRun  bool
	user    bool
	verbose bool
}

func newQuadletCommand(_ *globalOptions) *cobra.Command {
	var o quadletOptions
	cmd := &cobra.Command{
		Use:   "quadlet [--dryrun] [--user] [-v] [NORMAL_DIR [EARLY_DIR [LATE_DIR]]]",
		Short: "Generate systemd units from quadlet files",
		Long: "Turn the .container, .volume, .network, .pod, .image and .build files on the\n" +
			"quadlet search path into systemd services that run the engine, writing them into\n" +
			"NORMAL_DIR as a systemd generator does, or printing them with --dryrun.\n" +
			".kube files are reported as errors: the engine has no kube play.",
		Args: cobra.MaximumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !o.dryRun && len(args) == 0 {
				return errors.New("missing output directory: give NORMAL_DIR or --dryrun")
			}
			if code := runQuadlet(o, args, cmd.OutOrStdout(), cmd.ErrOrStderr(), ""); code != 0 {
				return &define.ExitError{Code: code, Silent: true}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.dryRun, "dryrun", false, "print the units on stdout instead of writing them")
	f.BoolVar(&o.user, "user", false, "generate units for the user's service manager (systemctl --user)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "say which directories and files are read")
	return cmd
}

// quadletGeneratorMain runs the systemd generator when the binary is
// invoked as engine-system-generator or engine-user-generator (argv[0]),
// before any engine setup: systemd runs generators at every boot and
// daemon-reload. It takes podman's generator flags (-dryrun, -user, -v;
// with one or two dashes) and systemd's NORMAL_DIR [EARLY_DIR LATE_DIR].
// handled is false for any other name.
func quadletGeneratorMain(args0 string, args []string) (handled bool, code int) {
	var o quadletOptions
	name := filepath.Base(args0)
	switch name {
	case systemGeneratorName:
	case userGeneratorName:
		o.user = true
	default:
		return false, 0
	}
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	flags.BoolVar(&o.dryRun, "dryrun", false, "print the units on stdout instead of writing them")
	flags.BoolVar(&o.user, "user", o.user, "generate units for the user's service manager")
	flags.BoolVar(&o.verbose, "v", false, "say which directories and files are read")
	if err := flags.Parse(args); err != nil {
		return true, 1
	}
	if flags.NArg() > 3 || (flags.NArg() == 0 && !o.dryRun) {
		_, _ = fmt.Fprintf(os.Stderr, "%s: usage: %s [-dryrun] [-user] [-v] NORMAL_DIR [EARLY_DIR LATE_DIR]\n", name, name)
		return true, 1
	}
	return true, runQuadlet(o, flags.Args(), os.Stdout, os.Stderr, name+": ")
}

// runQuadlet generates the units and prints or writes them. Problems go to
// stderr, each line starting with prefix; it returns 1 if there was any
// (the units of the files without problems are still produced), else 0.
func runQuadlet(o quadletOptions, dirs []string, stdout, stderr io.Writer, prefix string) int {
	logf := func(format string, args ...any) {
		_, _ = fmt.Fprintf(stderr, "%s%s\n", prefix, fmt.Sprintf(format, args...)) // nowhere to report a failed report
	}
	failed := false
	report := func(err error) {
		failed = true
		logf("%v", err)
	}
	binary, err := quadletEngineBinary()
	if err != nil {
		report(err)
		return 1
	}
	search, err := quadletSearchPath(o.user)
	if err != nil {
		report(err)
		return 1
	}
	res, err := quadlet.Generate(quadlet.Options{User: o.user, Dirs: search, Binary: binary})
	if err != nil {
		report(err)
		return 1
	}
	if o.verbose {
		logf("search path: %s", strings.Join(search, ":"))
		for _, d := range res.Dirs {
			logf("reading %s", d)
		}
		for _, u := range res.Units {
			logf("%s from %s", u.Name, strings.Join(append([]string{u.Source}, u.DropIns...), " + "))
			for _, l := range u.Links {
				logf("  link %s", l)
			}
		}
	}
	for _, e := range res.Errors {
		report(e)
	}
	if o.dryRun {
		for _, u := range res.Units {
			if _, err := fmt.Fprintf(stdout, "---%s---\n%s\n", u.Name, u.Data); err != nil {
				report(err)
				break
			}
		}
	} else if err := quadlet.Write(dirs[0], res.Units); err != nil {
		report(err)
	}
	if failed {
		return 1
	}
	return 0
}

// quadletEngineBinary is the engine the units run: $ENGINE_BINARY if set
// (tests, packaging into another root), else this binary.
func quadletEngineBinary() (string, error) {
	if b := os.Getenv("ENGINE_BINARY"); b != "" {
		return filepath.Abs(b)
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the engine binary for the units (set ENGINE_BINARY): %w", err)
	}
	return exe, nil
}

// quadletSearchPath is $QUADLET_UNIT_DIRS (colon-separated absolute paths)
// when set, else the default search path.
func quadletSearchPath(user bool) ([]string, error) {
	if env := os.Getenv("QUADLET_UNIT_DIRS"); env != "" {
		var dirs []string
		for _, d := range filepath.SplitList(env) {
			if d == "" {
				continue
			}
			if !filepath.IsAbs(d) {
				return nil, fmt.Errorf("QUADLET_UNIT_DIRS: %q is not an absolute path", d)
			}
			dirs = append(dirs, d)
		}
		return dirs, nil
	}
	if !user {
		return quadlet.SearchPath(false, 0, "", ""), nil
	}
	config, err := os.UserConfigDir()
	if err != nil {
		return nil, fmt.Errorf("user quadlet directory: %w", err)
	}
	return quadlet.SearchPath(true, os.Getuid(), os.Getenv("XDG_RUNTIME_DIR"), config), nil
}
