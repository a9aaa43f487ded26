package libengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/state"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/sirupsen/logrus"
	"go.podman.io/storage"
)

// ContainerCreateOptions are the parts of creating a container that are not
// the container's own description.
type ContainerCreateOptions struct {
	// Pull configures the pull when the image is missing or the policy asks.
	Pull PullOptions
	// Replace removes an existing container of the same name first.
	Replace bool
	// CIDFile receives the new container's ID; it must not exist.
	CIDFile string
	// ConmonPidFile receives the pid of the container's monitor (podman's
	// conmon) each time the container starts (see writeConmonPidFile).
	ConmonPidFile string
	// CreateCommand is the command line, kept for inspect.
	CreateCommand []string
	// infra creates the infra container of the pod the spec names.
	infra bool
}

// ContainerCreateReport names the container created.
type ContainerCreateReport struct {
	ID   string
	Name string
}

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// ContainerCreate validates s, makes sure its image is present according to
// the pull policy, creates the volumes it needs (see prepareCtrVolumes), and
// creates the container's root filesystem and record. Nothing is left
// behind when it fails, volumes it created included. Errors wrap
// define.ErrInvalidArg for a bad spec or name, define.ErrCtrExists for a
// taken name, define.ErrNoSuchImage when the image (or an image to mount)
// cannot be had, define.ErrNoSuchContainer for a --volumes-from or
// --network container: container that does not exist, and
// define.ErrNoSuchNetwork for a network that does not exist.
func (e *Engine) ContainerCreate(ctx context.Context, s *specgen.SpecGenerator, opts ContainerCreateOptions) (_ *ContainerCreateReport, retErr error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Name != "" && !validName.MatchString(s.Name) {
		return nil, fmt.Errorf("--name %q: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: %w", s.Name, define.ErrInvalidArg)
	}
	join, err := e.joinPod(ctx, s, opts.infra)
	if err != nil {
		return nil, err
	}
	defer func() { e.leavePod(ctx, join, retErr) }()
	if opts.CIDFile != "" {
		f, err := os.OpenFile(opts.CIDFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			if errors.Is(err, os.ErrExist) {
				return nil, fmt.Errorf("--cidfile %s exists: another container may use it; delete it first: %w", opts.CIDFile, define.ErrInvalidArg)
			}
			return nil, fmt.Errorf("--cidfile %s: %w", opts.CIDFile, err)
		}
		_ = f.Close()
		defer func() {
			if retErr != nil {
				_ = os.Remove(opts.CIDFile)
			}
		}()
	}
	img, err := e.imageForContainer(ctx, s, opts.Pull)
	if err != nil {
		return nil, err
	}
	icfg, err := e.readImageConfig(ctx, img)
	if err != nil {
		return nil, err
	}
	spec := *s
	spec.ImageID = img.ID
	join.apply(&spec)
	if err := e.imageHealthcheck(img, &spec); err != nil {
		return nil, err
	}
	if spec.Name == "" {
		spec.Name, err = e.freeName(ctx)
		if err != nil {
			return nil, err
		}
	} else if existing, err := e.db.Container(ctx, spec.Name); err == nil {
		if !opts.Replace {
			return nil, fmt.Errorf("the container name %q is already in use by %s: remove it or use --replace: %w",
				spec.Name, shortID(existing.ID), define.ErrCtrExists)
		}
		if _, err := e.ContainerRemove(ctx, []string{existing.ID}, ContainerRemoveOptions{Force: true}); err != nil {
			return nil, fmt.Errorf("--replace: %w", err)
		}
	}
	command, err := specgen.ProcessArgs(&spec, icfg.Config)
	if err != nil {
		return nil, err
	}
	networks, err := e.createNetworks(ctx, &spec)
	if err != nil {
		return nil, err
	}
	volumes, undoVolumes, err := e.prepareCtrVolumes(ctx, &spec, icfg.Config, opts.Pull)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			undoVolumes()
		}
	}()
	cfgJSON, err := json.Marshal(containerConfig{Spec: &spec, ImageConfig: icfg.Config, CreateCommand: opts.CreateCommand, CIDFile: cidFileAbs(opts.CIDFile),
		ConmonPidFile: cidFileAbs(opts.ConmonPidFile), Infra: opts.infra})
	if err != nil {
		return nil, fmt.Errorf("encode container config: %w", err)
	}
	meta, err := json.Marshal(map[string]string{"engine-name": spec.Name})
	if err != nil {
		return nil, fmt.Errorf("encode container metadata: %w", err)
	}
	idOpts, err := ctrIDMappingOptions(&spec)
	if err != nil {
		return nil, err
	}
	sc, err := e.store.CreateContainer("", nil, img.ID, "", string(meta), &storage.ContainerOptions{IDMappingOptions: idOpts, Volatile: spec.Remove})
	if err != nil {
		return nil, fmt.Errorf("create root filesystem for %s: %w", spec.Name, err)
	}
	rec := &state.Container{
		ID: sc.ID, Name: spec.Name, ImageID: img.ID, ImageName: imageDisplayName(s.Image, img),
		Command: command, Labels: spec.Labels, Created: time.Now(),
		Config: cfgJSON, State: state.ContainerState{Status: define.StatusCreated}, Volumes: volumes,
		Networks: networks, Pod: spec.Pod,
	}
	if err := e.db.AddContainer(ctx, rec); err != nil {
		if derr := e.store.DeleteContainer(sc.ID); derr != nil {
			logrus.Warnf("remove root filesystem of %s after failed create: %v", spec.Name, derr)
		}
		return nil, err
	}
	if opts.CIDFile != "" {
		if err := os.WriteFile(opts.CIDFile, []byte(sc.ID), 0o644); err != nil {
			_, _ = e.ContainerRemove(ctx, []string{sc.ID}, ContainerRemoveOptions{Force: true})
			return nil, fmt.Errorf("--cidfile %s: %w", opts.CIDFile, err)
		}
	}
	e.ctrEvent(ctx, rec, "create", nil)
	return &ContainerCreateReport{ID: sc.ID, Name: spec.Name}, nil
}

// freeName picks a generated name no container has.
func (e *Engine) freeName(ctx context.Context) (string, error) {
	for i := 0; i < 100; i++ {
		n := randomName()
		if _, err := e.db.Container(ctx, n); errors.Is(err, define.ErrNoSuchContainer) {
			return n, nil
		}
	}
	return "", errors.New("could not generate a free container name: pass --name")
}

// imageForContainer applies the pull policy: missing (default), always,
// never or newer.
func (e *Engine) imageForContainer(ctx context.Context, s *specgen.SpecGenerator, pull PullOptions) (*storage.Image, error) {
	name := s.Image
	if name == "" {
		name = s.ImageID
	}
	local, lookupErr := e.LookupImage(name)
	if lookupErr != nil && !errors.Is(lookupErr, define.ErrNoSuchImage) {
		return nil, lookupErr
	}
	switch s.Pull {
	case "never":
		if lookupErr != nil {
			return nil, fmt.Errorf("image %q is not in local storage and --pull=never forbids pulling it: %w", name, define.ErrNoSuchImage)
		}
		return local, nil
	case "", "missing":
		if lookupErr == nil {
			return local, nil
		}
	}
	ids, err := e.ImagePull(ctx, name, pull)
	if err != nil {
		if s.Pull == "newer" && lookupErr == nil {
			logrus.Warnf("--pull=newer: checking %s failed, using the local image: %v", name, err)
			return local, nil
		}
		return nil, err
	}
	img, err := e.store.Image(ids[0])
	if err != nil {
		return nil, fmt.Errorf("image %q after pull: %w", name, define.ErrNoSuchImage)
	}
	return img, nil
}

// imageDisplayName is the name ps shows: the image's name that the user's
// reference resolved to, or the reference as typed.
func imageDisplayName(typed string, img *storage.Image) string {
	if len(img.Names) > 0 {
		for _, n := range img.Names {
			if n == typed {
				return n
			}
		}
		if typed == "" || isHexPrefix(typed) {
			return img.Names[0]
		}
		if named, err := NormalizeName(typed); err == nil {
			for _, n := range img.Names {
				if n == named.String() {
					return n
				}
			}
		}
		return img.Names[0]
	}
	if typed != "" {
		return typed
	}
	return img.ID
}
