package define

import "fmt"

// ContainerStatus is where a container is in its life cycle.
type ContainerStatus string

// The container states, as podman names them.
const (
	StatusCreated  ContainerStatus = "created"
	StatusRunning  ContainerStatus = "running"
	StatusPaused   ContainerStatus = "paused"
	StatusStopping ContainerStatus = "stopping"
	StatusExited   ContainerStatus = "exited"
	StatusRemoving ContainerStatus = "removing"
)

// transitions lists, for each state, the states it may move to.
var transitions = map[ContainerStatus][]ContainerStatus{
	StatusCreated:  {StatusRunning, StatusExited, StatusRemoving},
	StatusRunning:  {StatusPaused, StatusStopping, StatusExited},
	StatusPaused:   {StatusRunning, StatusStopping, StatusExited},
	StatusStopping: {StatusExited},
	StatusExited:   {StatusRunning, StatusRemoving, StatusCreated},
	StatusRemoving: {},
}

// Statuses lists every state, in life-cycle order.
func Statuses() []ContainerStatus {
	return []ContainerStatus{StatusCreated, StatusRunning, StatusPaused, StatusStopping, StatusExited, StatusRemoving}
}

// CanTransition reports whether a container may move from one state to another.
func CanTransition(from, to ContainerStatus) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// CheckTransition returns ErrCtrStateInvalid when the move is not allowed.
func CheckTransition(from, to ContainerStatus) error {
	if CanTransition(from, to) {
		return nil
	}
	return fmt.Errorf("container is %s, cannot become %s: %w", from, to, ErrCtrStateInvalid)
}
