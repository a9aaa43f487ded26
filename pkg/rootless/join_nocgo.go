//go:build !linux || !cgo

package rootless

// joinSupported is false without cgo: joining a user namespace needs the
// constructor of join_cgo.go, which runs before the Go runtime's threads.
const joinSupported = false

// joinError is empty: without the constructor no join is tried.
func joinError() string { return "" }
