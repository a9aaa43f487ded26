package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
)

// printOutcomes prints, as podman does, one line per object acted on (what
// outcome returns) and an error line for each failure but the last, which
// it returns with the exit code code picks for the failures (125 when it
// picks 0).
func printOutcomes[R any](w io.Writer, reports []R, outcome func(R) (string, error), code func(failed []error) int) error {
	var failed []error
	for _, r := range reports {
		line, err := outcome(r)
		if err != nil {
			failed = append(failed, err)
			continue
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	if len(failed) == 0 {
		return nil
	}
	for _, err := range failed[:len(failed)-1] {
		fmt.Fprintln(os.Stderr, "Error:", err)
	}
	c := code(failed)
	if c == 0 {
		c = define.ExitEngineError
	}
	return &define.ExitError{Code: c, Err: failed[len(failed)-1]}
}

// printReports prints container reports: the exit code is 1 when every
// failure is a missing container, stateCode (when not 0) when every one is
// a container in the wrong state (rm's 2), else 125.
func printReports(w io.Writer, reports []libengine.ContainerReport, stateCode int) error {
	return printOutcomes(w, reports,
		func(r libengine.ContainerReport) (string, error) { return r.RawInput, r.Err },
		func(failed []error) int {
			switch {
			case allAre(failed, define.ErrNoSuchContainer):
				return 1
			case stateCode != 0 && allAre(failed, define.ErrCtrStateInvalid):
				return stateCode
			}
			return 0
		})
}

func allAre(errs []error, target error) bool {
	for _, err := range errs {
		if !errors.Is(err, target) {
			return false
		}
	}
	return true
}
