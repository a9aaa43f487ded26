package define

// PodStatus is a pod's state, derived from its containers' states as
// podman derives it.
type PodStatus string

// The pod states, as podman names them.
const (
	PodStatusCreated  PodStatus = "Created"
	PodStatusRunning  PodStatus = "Running"
	PodStatusDegraded PodStatus = "Degraded"
	PodStatusPaused   PodStatus = "Paused"
	PodStatusExited   PodStatus = "Exited"
	PodStatusStopped  PodStatus = "Stopped"
	PodStatusError    PodStatus = "Error"
)

// PodStatusOf derives a pod's state from its containers' (the infra
// container included): Running when all run, Degraded when some do,
// Paused when all are paused, Exited when all exited, Stopped when some
// did, Created otherwise (also for a pod without containers); a container
// being removed or stopping makes it Error when nothing above applies.
func PodStatusOf(ctrs []ContainerStatus) PodStatus {
	var running, paused, exited, other int
	for _, s := range ctrs {
		switch s {
		case StatusRunning:
			running++
		case StatusPaused:
			paused++
		case StatusExited:
			exited++
		case StatusCreated:
		default:
			other++
		}
	}
	n := len(ctrs)
	switch {
	case n == 0:
		return PodStatusCreated
	case running == n:
		return PodStatusRunning
	case running > 0:
		return PodStatusDegraded
	case paused == n:
		return PodStatusPaused
	case exited == n:
		return PodStatusExited
	case exited > 0:
		return PodStatusStopped
	case other > 0:
		return PodStatusError
	}
	return PodStatusCreated
}
