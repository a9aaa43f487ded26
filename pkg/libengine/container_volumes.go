package libengine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/specgen"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sirupsen/logrus"
)

// prepareCtrVolumes completes the mounts of a container being created, in
// s: it copies the volume and bind mounts of the --volumes-from containers
// to destinations the container does not mount itself, adds an anonymous
// volume for each VOLUME of the image left unmounted, creates and names
// the anonymous volumes and the named ones that do not exist, and resolves
// image mounts to image IDs (pulling them under the container's policy).
// It returns the volumes the container uses and a function removing those
// it created, for when the creation fails later.
func (e *Engine) prepareCtrVolumes(ctx context.Context, s *specgen.SpecGenerator, img imgspecv1.ImageConfig, pull PullOptions) (volumes []string, undo func(), retErr error) {
	var created []string
	removeCreated := func() {
		for _, name := range created {
			err := e.removeVolume(context.WithoutCancel(ctx), name, false, nil)
			if err != nil && !errors.Is(err, define.ErrVolumeInUse) && !errors.Is(err, define.ErrNoSuchVolume) {
				logrus.Warnf("remove volume %s after failed create: %v", name, err)
			}
		}
	}
	defer func() {
		if retErr != nil {
			removeCreated()
		}
	}()
	mounts := slices.Clone(s.Mounts)
	claimed := map[string]bool{}
	for _, m := range mounts {
		claimed[path.Clean(m.Destination)] = true
	}
	for dest := range s.Tmpfs {
		claimed[path.Clean(dest)] = true
	}
	for _, from := range s.VolumesFrom {
		name, readOnly, err := specgen.ParseVolumesFrom(from)
		if err != nil {
			return nil, nil, err
		}
		other, err := e.lookupCtr(ctx, name)
		if err != nil {
			return nil, nil, fmt.Errorf("--volumes-from %s: %w", from, err)
		}
		for _, m := range other.cfg.Spec.Mounts {
			if (m.Type != specgen.MountTypeVolume && m.Type != specgen.MountTypeBind) || claimed[path.Clean(m.Destination)] {
				continue
			}
			claimed[path.Clean(m.Destination)] = true
			m.Options = slices.Clone(m.Options)
			if readOnly != nil {
				m.Options = slices.DeleteFunc(m.Options, func(o string) bool { return o == "ro" || o == "rw" })
				mode := "rw"
				if *readOnly {
					mode = "ro"
				}
				m.Options = append(m.Options, mode)
			}
			mounts = append(mounts, m)
		}
	}
	for _, dest := range slices.Sorted(maps.Keys(img.Volumes)) {
		d := path.Join("/", dest)
		if !claimed[d] {
			claimed[d] = true
			mounts = append(mounts, specgen.Mount{Type: specgen.MountTypeVolume, Destination: d})
		}
	}
	for i, m := range mounts {
		switch m.Type {
		case specgen.MountTypeVolume:
			v, made, err := e.createVolume(ctx, VolumeCreateOptions{Name: m.Source, IgnoreIfExists: true}, m.Source == "")
			if err != nil {
				return nil, nil, fmt.Errorf("volume for %s: %w", m.Destination, err)
			}
			if made {
				created = append(created, v.Name)
			}
			mounts[i].Source = v.Name
			if !slices.Contains(volumes, v.Name) {
				volumes = append(volumes, v.Name)
			}
		case specgen.MountTypeImage:
			im, err := e.imageForContainer(ctx, &specgen.SpecGenerator{Image: m.Source, Pull: s.Pull}, pull)
			if err != nil {
				return nil, nil, fmt.Errorf("image mount on %s: %w", m.Destination, err)
			}
			mounts[i].Source = im.ID
		}
	}
	s.Mounts = mounts
	return volumes, removeCreated, nil
}

// removeAnonymousVolumes removes the anonymous volumes a removed container
// used that no other container uses, as podman's rm -v and run --rm do.
func (e *Engine) removeAnonymousVolumes(ctx context.Context, names []string) {
	for _, name := range names {
		v, err := e.exactVolume(ctx, name)
		if err != nil || !v.Anonymous {
			continue
		}
		err = e.removeVolume(ctx, name, false, nil)
		if err != nil && !errors.Is(err, define.ErrVolumeInUse) && !errors.Is(err, define.ErrNoSuchVolume) {
			logrus.Warnf("remove anonymous volume %s: %v", name, err)
		}
	}
}
