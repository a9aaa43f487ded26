package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
)

// printReports prints, as podman does, the name given for each container
// acted on and an error line for each failure. The exit code is 125 when
// anything failed, or the code podman uses when all failures are alike:
// 1 for missing containers, 2 for containers in the wrong state (rm).
func printReports(w io.Writer, reports []libengine.ContainerReport, stateCode int) error {
	var failed []error
	for _, r := range reports {
		if r.Err != nil {
			failed = append(failed, r.Err)
			continue
		}
		if _, err := fmt.Fprintln(w, r.RawInput); err != nil {
			return err
		}
	}
	if len(failed) == 0 {
		return nil
	}
	for _, err := range failed[:len(failed)-1] {
		fmt.Fprintln(os.Stderr, "Error:", err)
	}
	last := failed[len(failed)-1]
	code := define.ExitEngineError
	switch {
	case allAre(failed, define.ErrNoSuchContainer):
		code = 1
	case stateCode != 0 && allAre(failed, define.ErrCtrStateInvalid):
		code = stateCode
	}
	return &define.ExitError{Code: code, Err: last}
}

func allAre(errs []error, target error) bool {
	for _, err := range errs {
		if !errors.Is(err, target) {
			return false
		}
	}
	return true
}
