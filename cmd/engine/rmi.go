package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
)

// newRmiCommand builds `rmi` and `image rm`.
func newRmiCommand(g *globalOptions, use string) *cobra.Command {
	var opts libengine.RemoveOptions
	cmd := &cobra.Command{
		Use:   use + " [options] IMAGE [IMAGE...]",
		Short: "Remove images from local storage",
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				reports, err := eng.ImageRemove(cmd.Context(), args, opts)
				if perr := printRemoved(cmd.OutOrStdout(), reports); perr != nil && err == nil {
					err = perr
				}
				return rmiError(cmd.ErrOrStderr(), err)
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.All, "all", "a", false, "remove all images")
	f.BoolVarP(&opts.Force, "force", "f", false, "remove images containers use, with the containers, and images named by ID with all their tags")
	f.BoolVarP(&opts.Ignore, "ignore", "i", false, "ignore images that do not exist")
	return cmd
}

// printRemoved prints podman's lines: every Untagged, then every Deleted.
func printRemoved(w io.Writer, reports []libengine.RemoveReport) error {
	for _, r := range reports {
		for _, n := range r.Untagged {
			if _, err := fmt.Fprintln(w, "Untagged:", n); err != nil {
				return err
			}
		}
	}
	for _, r := range reports {
		if r.Deleted != "" {
			if _, err := fmt.Fprintln(w, "Deleted:", r.Deleted); err != nil {
				return err
			}
		}
	}
	return nil
}

// rmiError prints every failure but the last and returns the last with
// podman's rmi exit code: 1 when an image was unknown, 2 when one was in
// use, 125 otherwise; with several failures the worst wins (125, 2, 1).
func rmiError(stderr io.Writer, err error) error {
	if err == nil {
		return nil
	}
	errs := []error{err}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		errs = joined.Unwrap()
	}
	code := 1
	for i, e := range errs {
		switch c := imageExitCode(e); {
		case c == define.ExitEngineError, c == 2 && code == 1:
			code = c
		}
		if i < len(errs)-1 {
			_, _ = fmt.Fprintln(stderr, "Error:", e) // the exit code still tells
		}
	}
	return &define.ExitError{Code: code, Err: errs[len(errs)-1]}
}

// imageExitCode is podman's rmi exit code for one failure.
func imageExitCode(err error) int {
	switch {
	case errors.Is(err, define.ErrImageInUse):
		return 2
	case errors.Is(err, define.ErrNoSuchImage):
		return 1
	}
	return define.ExitEngineError
}
