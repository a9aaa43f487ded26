package libengine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/config"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/reference"
)

// Labels auto-update reads, as podman names them.
const (
	// SystemdUnitLabel names the systemd unit a container runs in; run and
	// create set it from $PODMAN_SYSTEMD_UNIT (or $ENGINE_SYSTEMD_UNIT),
	// which quadlet and generated units export.
	SystemdUnitLabel = "PODMAN_SYSTEMD_UNIT"
	// AutoUpdateLabel is the auto-update policy: registry or local.
	AutoUpdateLabel = "io.containers.autoupdate"
)

// Auto-update policies.
const (
	AutoUpdateRegistry = "registry" // a newer image of the same name in its registry
	AutoUpdateLocal    = "local"    // a newer local image of the same name
)

// What AutoUpdateReport.Updated says.
const (
	UpdatePending    = "pending"     // --dry-run: an update is available
	UpdateNone       = "false"       // the image is current
	UpdateDone       = "true"        // updated and restarted
	UpdateRolledBack = "rolled back" // the new image failed to start: back on the old one
	UpdateFailed     = "failed"      // see the report's error
)

// AutoUpdateOptions configure AutoUpdate.
type AutoUpdateOptions struct {
	// DryRun only reports which containers have an update.
	DryRun bool
	// Rollback restarts a unit on its old image when it fails to start on
	// the new one.
	Rollback bool
	// Registry reaches the registries (--authfile, --tls-verify).
	Registry RegistryOptions
	// Systemctl is the command that restarts units, with systemctl's
	// arguments ([--user] restart UNIT); empty means "systemctl".
	Systemctl string
	// ReportWriter receives pull progress; nil discards it.
	ReportWriter io.Writer
}

// AutoUpdateReport is one container's outcome.
type AutoUpdateReport struct {
	Unit          string
	ContainerID   string
	ContainerName string
	Image         string
	Policy        string
	// Updated is one of the Update constants.
	Updated string
	// Err says why a container could not be checked or updated.
	Err error `json:"-"`
}

// AutoUpdate finds the running containers with an io.containers.autoupdate
// label and a PODMAN_SYSTEMD_UNIT label, checks whether their image has a
// newer version (registry: the registry's digest for the image's name
// differs from the container's image; local: the local image of that name
// is not the container's), and unless DryRun pulls it and restarts the
// unit, each unit once. When a unit fails to start on the new image and
// Rollback is set, the image's name goes back to the old image and the
// unit is restarted again.
//
// Problems with one container are in its report's Err; the error returned
// is for failing to list the containers.
func (e *Engine) AutoUpdate(ctx context.Context, opts AutoUpdateOptions) ([]AutoUpdateReport, error) {
	recs, err := e.db.Containers(ctx)
	if err != nil {
		return nil, err
	}
	var reports []AutoUpdateReport
	var units []string
	byUnit := map[string][]int{} // unit -> indexes of reports needing an update
	for _, r := range recs {
		policy, ok := r.Labels[AutoUpdateLabel]
		if !ok || r.State.Status != define.StatusRunning {
			continue
		}
		if policy == "image" { // podman's old name
			policy = AutoUpdateRegistry
		}
		rep := AutoUpdateReport{Unit: r.Labels[SystemdUnitLabel], ContainerID: r.ID, ContainerName: r.Name,
			Image: r.ImageName, Policy: policy, Updated: UpdateFailed}
		switch {
		case policy != AutoUpdateRegistry && policy != AutoUpdateLocal:
			rep.Err = fmt.Errorf("container %s: %s=%q: use registry or local: %w", r.Name, AutoUpdateLabel, policy, define.ErrInvalidArg)
		case rep.Unit == "":
			rep.Err = fmt.Errorf("container %s: no %s label: it was not started by a systemd unit (run it from a quadlet or a generated unit): %w",
				r.Name, SystemdUnitLabel, define.ErrInvalidArg)
		default:
			var newer bool
			if newer, rep.Err = e.hasUpdate(ctx, r.ImageID, r.ImageName, policy, opts.Registry); rep.Err == nil {
				rep.Updated = UpdateNone
				if newer {
					rep.Updated = UpdatePending
					if !slices.Contains(units, rep.Unit) {
						units = append(units, rep.Unit)
					}
					byUnit[rep.Unit] = append(byUnit[rep.Unit], len(reports))
				}
			}
		}
		reports = append(reports, rep)
	}
	if opts.DryRun {
		return reports, nil
	}
	oldIDs := map[string]string{}
	for _, r := range recs {
		oldIDs[r.ID] = r.ImageID
	}
	for _, unit := range units {
		e.updateUnit(ctx, unit, byUnit[unit], reports, oldIDs, opts)
	}
	return reports, nil
}

// hasUpdate reports whether the image of a container has a newer version.
func (e *Engine) hasUpdate(ctx context.Context, imageID, name, policy string, ro RegistryOptions) (bool, error) {
	if policy == AutoUpdateLocal {
		img, err := e.LookupImage(name)
		if err != nil {
			return false, fmt.Errorf("image %s: %w", name, err)
		}
		return img.ID != imageID, nil
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil || !hasDomain(name) {
		return false, fmt.Errorf("image %q is not fully qualified (REGISTRY/NAME:TAG), so its registry is not known: %w", name, define.ErrInvalidArg)
	}
	ref, err := docker.NewReference(reference.TagNameOnly(named))
	if err != nil {
		return false, fmt.Errorf("image %s: %w", name, err)
	}
	sys, err := e.systemContext(ro)
	if err != nil {
		return false, err
	}
	remote, err := docker.GetDigest(ctx, sys, ref)
	if err != nil {
		return false, fmt.Errorf("check %s in its registry: %w", name, err)
	}
	img, err := e.store.Image(imageID)
	if err != nil {
		return false, fmt.Errorf("the container's image %s: %w", imageID, define.ErrNoSuchImage)
	}
	return img.Digest != remote && !slices.Contains(img.Digests, digest.Digest(remote)), nil
}

// updateUnit pulls the new images of the unit's containers (reports at
// idx, whose old image IDs are in oldIDs) and restarts the unit, rolling
// back when it fails to start.
func (e *Engine) updateUnit(ctx context.Context, unit string, idx []int, reports []AutoUpdateReport, oldIDs map[string]string, opts AutoUpdateOptions) {
	setAll := func(updated string, err error) {
		for _, i := range idx {
			reports[i].Updated, reports[i].Err = updated, err
		}
	}
	pulled := map[string]bool{}
	for _, i := range idx {
		r := reports[i]
		if r.Policy != AutoUpdateRegistry || pulled[r.Image] {
			continue
		}
		if _, err := e.ImagePull(ctx, r.Image, PullOptions{RegistryOptions: opts.Registry, ReportWriter: opts.ReportWriter}); err != nil {
			setAll(UpdateFailed, fmt.Errorf("unit %s: pull %s: %w", unit, r.Image, err))
			return
		}
		pulled[r.Image] = true
	}
	err := restartUnit(ctx, opts.Systemctl, unit)
	if err == nil {
		setAll(UpdateDone, nil)
		return
	}
	if !opts.Rollback {
		setAll(UpdateFailed, fmt.Errorf("unit %s did not restart on the new image: %w", unit, err))
		return
	}
	for _, i := range idx {
		r := reports[i]
		if terr := e.ImageTag(ctx, oldIDs[r.ContainerID], []string{r.Image}); terr != nil {
			setAll(UpdateFailed, fmt.Errorf("unit %s did not restart on the new image (%w), and rolling back failed: %w", unit, err, terr))
			return
		}
	}
	if rerr := restartUnit(ctx, opts.Systemctl, unit); rerr != nil {
		setAll(UpdateFailed, fmt.Errorf("unit %s did not restart on the new image (%w), nor on the old one: %w", unit, err, rerr))
		return
	}
	setAll(UpdateRolledBack, nil)
}

// restartUnit restarts a systemd unit of the system's manager, or of the
// user's when rootless; systemctl waits until it has started (for a
// Type=notify unit, until the container's monitor reported READY=1).
func restartUnit(ctx context.Context, systemctl, unit string) error {
	if systemctl == "" {
		systemctl = "systemctl"
	}
	var args []string
	if config.Rootless() {
		args = append(args, "--user")
	}
	cmd := exec.CommandContext(ctx, systemctl, append(args, "restart", unit)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(out.String()); msg != "" {
			return fmt.Errorf("%s restart %s: %w: %s", systemctl, unit, err, msg)
		}
		return fmt.Errorf("%s restart %s: %w", systemctl, unit, err)
	}
	return nil
}
