// Package define holds the engine's sentinel errors and shared enums.
// It imports nothing of the engine's own so every layer can depend on it.
package define

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers wrap them with the object's name and compare with errors.Is.
var (
	ErrNoSuchImage       = errors.New("image not known")
	ErrNoSuchContainer   = errors.New("no such container")
	ErrCtrExists         = errors.New("container name is already in use")
	ErrCtrStateInvalid   = errors.New("container state improper")
	ErrImageInUse        = errors.New("image is in use by a container")
	ErrInvalidArg        = errors.New("invalid argument")
	ErrNotImplemented    = errors.New("not supported yet")
	ErrAmbiguousImage    = errors.New("short id matches more than one image")
	ErrNotAuthenticated  = errors.New("not logged in")
	ErrArchiveEscape     = errors.New("archive entry escapes the destination")
	ErrUnsupportedFormat = errors.New("unsupported format")
	ErrImageHasManyTags  = errors.New("image has more than one tag")
	ErrNoSuchTag         = errors.New("tag not known")
	ErrNoSuchVolume      = errors.New("no such volume")
	ErrVolumeExists      = errors.New("volume already exists")
	ErrVolumeInUse       = errors.New("volume is being used")
	ErrNoSuchNetwork     = errors.New("network not found")
	ErrNetworkExists     = errors.New("network already exists")
	ErrNetworkInUse      = errors.New("network is being used")
	ErrNetworkConnected  = errors.New("container is already connected to the network")
	ErrNotConnected      = errors.New("container is not connected to the network")
	ErrPortInUse         = errors.New("port is already in use")
	ErrAddressInUse      = errors.New("address is already in use")
	ErrNoSuchPod         = errors.New("no such pod")
	ErrPodExists         = errors.New("pod already exists")
)

// ExitError carries a process exit code other than the engine's 125.
// A Silent one prints nothing (as `image exists` returning 1).
type ExitError struct {
	Code   int
	Silent bool
	Err    error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Exit codes shared with podman and docker.
const (
	ExitEngineError = 125
	ExitCannotExec  = 126
	ExitNotFound    = 127
)
