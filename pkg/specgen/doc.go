// Package specgen owns the high-level container spec — what the user asked
// for — its validation, and its translation into an OCI runtime spec with
// podman's secure defaults.
//
// The flow is: the CLI fills a SpecGenerator with the Parse* helpers, the
// engine stores it (it is plain JSON) and calls Validate, then Generate turns it
// into a *specs.Spec given the image's config and the host facts in a
// GenerateEnv. RenderHosts, RenderResolvConf and PasswdEntry render the files
// the caller writes into GenerateEnv.RunDir before starting the container.
//
// The package reads only paths it is given (an --env-file, a seccomp profile,
// a bind mount's source, a --device node, the directory passed to
// HostDevices), writes nothing, starts no process, and imports nothing of the
// engine but pkg/libengine/define. Its errors wrap define.ErrInvalidArg for a
// bad value and define.ErrNotImplemented for a podman feature the engine does
// not have yet; each names the flag and says what to do instead.
package specgen
