package libengine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/lock"
	"github.com/engine-oss/engine/pkg/libengine/state"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/sirupsen/logrus"
)

// A pod is a group of containers sharing namespaces. Its infra container,
// an ordinary container running the pause image, holds them: the members
// join the namespaces the pod shares (by default ipc, net and uts), so they
// reach each other on localhost, see one hostname and share SysV IPC,
// POSIX message queues and /dev/shm. Ports are published on the infra.
//
// Locking: a pod operation takes the pod's lock, then each container's,
// one at a time. The one place two container locks are held together is a
// member's start, which takes the infra's after its own: no caller ever
// takes a member's lock while holding the infra's.

// Namespaces a pod can share, as --share names them.
const (
	ShareCgroup = "cgroup"
	ShareIPC    = "ipc"
	SharePID    = "pid"
	ShareNet    = "net"
	ShareUTS    = "uts"
)

// DefaultPodShare is what a pod shares unless told otherwise, as podman
// (and Kubernetes).
var DefaultPodShare = []string{ShareIPC, ShareNet, ShareUTS}

// podConfig is what the state database keeps, as JSON, about how a pod was
// asked for. The infra container's own record holds its network, ports and
// name resolution settings.
type podConfig struct {
	// Hostname is --hostname as given; the pod's name when empty.
	Hostname string `json:"hostname,omitempty"`
	// Share lists the namespaces the members join, sorted.
	Share         []string `json:"share"`
	CreateCommand []string `json:"createCommand,omitempty"`
	// ExitPolicy is PodExitPolicyStop or PodExitPolicyContinue (also "").
	ExitPolicy string `json:"exitPolicy,omitempty"`
}

// What a pod does when its last member exits (pod create --exit-policy).
const (
	// PodExitPolicyContinue keeps the infra container running: the
	// default, as podman's.
	PodExitPolicyContinue = "continue"
	// PodExitPolicyStop stops the pod (see stopPodIfDone).
	PodExitPolicyStop = "stop"
)

// pod is a pod record with its decoded configuration.
type pod struct {
	*state.Pod
	cfg podConfig
}

func decodePod(p *state.Pod) (*pod, error) {
	out := &pod{Pod: p}
	if err := json.Unmarshal(p.Config, &out.cfg); err != nil {
		return nil, fmt.Errorf("pod %s: decode stored config: %w", p.Name, err)
	}
	return out, nil
}

// shares reports whether the pod's members join its infra container's
// namespace ns (a pod without infra shares none).
func (p *pod) shares(ns string) bool {
	return slices.Contains(p.cfg.Share, ns)
}

func (p *pod) hostname() string {
	return firstNonEmpty(p.cfg.Hostname, p.Name)
}

// lookupPod finds a pod by name, ID or ID prefix. Errors wrap
// define.ErrNoSuchPod.
func (e *Engine) lookupPod(ctx context.Context, nameOrID string) (*pod, error) {
	p, err := e.db.Pod(ctx, nameOrID)
	if err != nil {
		return nil, err
	}
	return decodePod(p)
}

func (e *Engine) lockPod(id string) (*lock.File, error) {
	return lock.Acquire(filepath.Join(e.store.RunRoot(), "locks", "pod-"+id))
}

// withPod looks a pod up, locks it, reads it again and calls fn.
func (e *Engine) withPod(ctx context.Context, nameOrID string, fn func(*pod) error) error {
	p, err := e.lookupPod(ctx, nameOrID)
	if err != nil {
		return err
	}
	l, err := e.lockPod(p.ID)
	if err != nil {
		return err
	}
	defer l.Release()
	if p, err = e.lookupPod(ctx, p.ID); err != nil {
		return err
	}
	return fn(p)
}

// PodReport is the outcome for one pod of a command acting on many.
type PodReport struct {
	ID   string
	Name string
	// RawInput is the name or ID as the user gave it.
	RawInput string
	// Containers are the reports of the pod's containers acted on, when
	// the command reports them (pod rm).
	Containers []ContainerReport
	Err        error
}

// eachPod runs fn on each named pod (every pod with all) under its lock,
// collecting one report per pod; ignore drops pods that do not exist.
func (e *Engine) eachPod(ctx context.Context, names []string, all, ignore bool, fn func(*pod, *PodReport) error) ([]PodReport, error) {
	if all {
		pods, err := e.db.Pods(ctx)
		if err != nil {
			return nil, err
		}
		names = nil
		for _, p := range pods {
			names = append(names, p.ID)
		}
	}
	reports := make([]PodReport, 0, len(names))
	for _, name := range names {
		rep := PodReport{RawInput: name}
		rep.Err = e.withPod(ctx, name, func(p *pod) error {
			rep.ID, rep.Name = p.ID, p.Name
			return fn(p, &rep)
		})
		if ignore && errors.Is(rep.Err, define.ErrNoSuchPod) {
			continue
		}
		reports = append(reports, rep)
	}
	return reports, nil
}

// podCtrs returns the IDs of the pod's members, oldest first, and its
// infra container's ("" without one).
func (e *Engine) podCtrs(ctx context.Context, p *pod) (members []string, infra string, err error) {
	ids, err := e.db.PodContainers(ctx, p.ID)
	if err != nil {
		return nil, "", err
	}
	for _, id := range ids {
		if id != p.InfraID {
			members = append(members, id)
		}
	}
	return members, p.InfraID, nil
}

// PodCreateOptions describe a pod. The network fields configure the infra
// container, whose network the members share.
type PodCreateOptions struct {
	// Name is the pod's name; empty lets the engine pick one.
	Name     string
	Labels   map[string]string
	Hostname string
	// Share lists the namespaces the members join (see ParsePodShare);
	// nil means DefaultPodShare.
	Share []string
	// NoInfra makes a pod without infra container, which shares nothing.
	NoInfra bool
	// InfraImage replaces the engine's pause image; InfraCommand the
	// infra image's entrypoint; InfraName the infra's name
	// ("<pod ID prefix>-infra").
	InfraImage   string
	InfraCommand []string
	InfraName    string
	// Network and Networks are the network mode and networks, as
	// specgen.ParseNetworks returns them; Publish are -p values.
	Network    string
	Networks   []specgen.NetworkAttach
	Publish    []string
	HostAdd    []string
	DNSServers []string
	DNSSearch  []string
	DNSOptions []string
	// ShmSize is the size of the /dev/shm the members share (--shm-size;
	// nil: 64 MiB, 0: no limit). Volumes are mounted in the infra
	// container, and so in every member (as --volumes-from it), unless a
	// member mounts the same destination.
	ShmSize *int64
	Volumes []specgen.Mount
	// InfraConmonPidFile receives the pid of the infra container's
	// monitor (the engine's conmon) each time it starts: a systemd
	// Type=forking unit follows the pod through it.
	InfraConmonPidFile string
	// ExitPolicy is PodExitPolicyContinue (the default when empty) or
	// PodExitPolicyStop.
	ExitPolicy string
	// Replace removes a pod of the same name, with its containers, first.
	Replace bool
	// CreateCommand is the command line, kept for inspect.
	CreateCommand []string
	// Pull configures pulling InfraImage when it is missing.
	Pull PullOptions
}

// PodCreateReport names the pod created.
type PodCreateReport struct {
	ID      string
	Name    string
	InfraID string
}

// ParsePodShare parses --share: a comma-separated list of cgroup, ipc,
// net, pid and uts, or "none" (or empty) for nothing; a leading "+" adds
// to DefaultPodShare. Errors wrap define.ErrInvalidArg.
func ParsePodShare(value string) ([]string, error) {
	out := []string{}
	if rest, ok := strings.CutPrefix(value, "+"); ok {
		out, value = slices.Clone(DefaultPodShare), rest
	}
	if value == "none" {
		value = ""
	}
	for _, ns := range strings.Split(value, ",") {
		switch ns {
		case "":
		case ShareCgroup, ShareIPC, ShareNet, SharePID, ShareUTS:
			if !slices.Contains(out, ns) {
				out = append(out, ns)
			}
		default:
			return nil, fmt.Errorf("--share %q: %q is not a namespace a pod can share: use cgroup, ipc, net, pid and uts, or none: %w", value, ns, define.ErrInvalidArg)
		}
	}
	slices.Sort(out)
	return out, nil
}

// checkPodOptions rejects settings that need what the pod does not have.
func checkPodOptions(o *PodCreateOptions, share []string) error {
	if o.Name != "" && !validName.MatchString(o.Name) {
		return fmt.Errorf("pod name %q: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: %w", o.Name, define.ErrInvalidArg)
	}
	switch o.ExitPolicy {
	case "", PodExitPolicyContinue, PodExitPolicyStop:
	default:
		return fmt.Errorf("--exit-policy %q: use continue or stop: %w", o.ExitPolicy, define.ErrInvalidArg)
	}
	if o.NoInfra {
		if len(o.Share) > 0 {
			return fmt.Errorf("--share %s needs an infra container to hold the namespaces: drop --infra=false: %w", strings.Join(o.Share, ","), define.ErrInvalidArg)
		}
		if o.InfraImage != "" || len(o.InfraCommand) > 0 || o.InfraName != "" || o.Hostname != "" || o.Network != "" ||
			len(o.Networks)+len(o.Publish)+len(o.HostAdd)+len(o.DNSServers)+len(o.DNSSearch)+len(o.DNSOptions) > 0 {
			return fmt.Errorf("--infra=false: the infra, hostname, network, -p, --add-host and --dns options configure the infra container: drop them or the --infra=false: %w", define.ErrInvalidArg)
		}
		if o.InfraConmonPidFile != "" || o.ShmSize != nil || len(o.Volumes) > 0 {
			return fmt.Errorf("--infra=false: --infra-conmon-pidfile, --shm-size and --volume need the infra container: drop them or the --infra=false: %w", define.ErrInvalidArg)
		}
		return nil
	}
	if !slices.Contains(share, ShareNet) && (o.Network != "" ||
		len(o.Networks)+len(o.Publish)+len(o.HostAdd)+len(o.DNSServers)+len(o.DNSSearch)+len(o.DNSOptions) > 0) {
		return fmt.Errorf("--network, -p, --add-host and --dns configure the pod's shared network, but the pod does not share net: add net to --share: %w", define.ErrInvalidArg)
	}
	if o.Hostname != "" && !slices.Contains(share, ShareUTS) {
		return fmt.Errorf("--hostname %s names the pod's shared UTS namespace, but the pod does not share uts: add uts to --share: %w", o.Hostname, define.ErrInvalidArg)
	}
	return nil
}

// PodCreate creates a pod and, unless opts.NoInfra, its infra container
// from the pause image (built on first use, see pauseImage) or
// opts.InfraImage. With opts.Replace a pod of that name is removed first.
// Nothing is left behind when it fails. Errors wrap define.ErrInvalidArg
// for bad options, define.ErrPodExists for a taken name, and what
// ContainerCreate returns for the infra container.
func (e *Engine) PodCreate(ctx context.Context, opts PodCreateOptions) (_ *PodCreateReport, retErr error) {
	share := opts.Share
	if share == nil && !opts.NoInfra {
		share = DefaultPodShare
	}
	if err := checkPodOptions(&opts, share); err != nil {
		return nil, err
	}
	var idBytes [32]byte
	_, _ = rand.Read(idBytes[:]) // never fails
	id := hex.EncodeToString(idBytes[:])
	name := opts.Name
	if name == "" {
		var err error
		if name, err = e.freePodName(ctx); err != nil {
			return nil, err
		}
	}
	if opts.Replace && opts.Name != "" {
		if err := e.replacePod(ctx, opts.Name); err != nil {
			return nil, err
		}
	}
	pcfg := podConfig{Hostname: opts.Hostname, Share: append([]string{}, share...), CreateCommand: opts.CreateCommand, ExitPolicy: opts.ExitPolicy}
	cfg, err := json.Marshal(pcfg)
	if err != nil {
		return nil, fmt.Errorf("encode pod config: %w", err)
	}
	// Members wait on the lock until the infra container is recorded.
	l, err := e.lockPod(id)
	if err != nil {
		return nil, err
	}
	defer l.Release()
	rec := &state.Pod{ID: id, Name: name, Created: time.Now(), Labels: opts.Labels, Config: cfg}
	if err := e.db.AddPod(ctx, rec); err != nil {
		return nil, fmt.Errorf("pod %s: %w", name, err)
	}
	defer func() {
		if retErr != nil {
			if err := e.db.RemovePod(context.WithoutCancel(ctx), id); err != nil {
				logrus.Warnf("remove pod %s after failed create: %v", name, err)
			}
		}
	}()
	rep := &PodCreateReport{ID: id, Name: name}
	if !opts.NoInfra {
		if rep.InfraID, err = e.createInfra(ctx, &pod{Pod: rec, cfg: pcfg}, &opts); err != nil {
			return nil, err
		}
		if err := e.db.SetPodInfra(ctx, id, rep.InfraID); err != nil {
			if _, rerr := e.ContainerRemove(context.WithoutCancel(ctx), []string{rep.InfraID}, ContainerRemoveOptions{Force: true, inPodRemoval: true}); rerr != nil {
				logrus.Warnf("remove infra container of pod %s after failed create: %v", name, rerr)
			}
			return nil, err
		}
	}
	e.event(ctx, "pod", "create", id, name, nil)
	return rep, nil
}

// replacePod removes the pod called name, with its containers, for pod
// create --replace; a name no pod has is fine (an ID that starts with it
// does not count).
func (e *Engine) replacePod(ctx context.Context, name string) error {
	p, err := e.db.Pod(ctx, name)
	if errors.Is(err, define.ErrNoSuchPod) || (err == nil && p.Name != name) {
		return nil
	}
	if err != nil {
		return err
	}
	reps, err := e.PodRemove(ctx, []string{p.ID}, PodRemoveOptions{Force: true, Ignore: true})
	if err == nil && len(reps) > 0 {
		err = reps[0].Err
	}
	if err != nil {
		return fmt.Errorf("--replace: %w", err)
	}
	return nil
}

// freePodName picks a generated name no pod has.
func (e *Engine) freePodName(ctx context.Context) (string, error) {
	for range 100 {
		n := randomName()
		if _, err := e.db.Pod(ctx, n); errors.Is(err, define.ErrNoSuchPod) {
			return n, nil
		}
	}
	return "", errors.New("could not generate a free pod name: pass --name")
}

// createInfra creates the pod's infra container: the pause image's
// catatonit (or the infra image), holding the namespaces the pod shares,
// with the pod's network, ports and name resolution settings.
func (e *Engine) createInfra(ctx context.Context, p *pod, opts *PodCreateOptions) (string, error) {
	s := &specgen.SpecGenerator{
		Name: firstNonEmpty(opts.InfraName, shortID(p.ID)+"-infra"), Image: opts.InfraImage, Pod: p.ID,
		Namespaces: specgen.Namespaces{Network: opts.Network}, Networks: opts.Networks, PublishPorts: opts.Publish,
		HostAdd: opts.HostAdd, DNSServers: opts.DNSServers, DNSSearch: opts.DNSSearch, DNSOptions: opts.DNSOptions,
		ShmSize: opts.ShmSize, Mounts: opts.Volumes,
	}
	if s.Image == "" {
		s.Image = PauseImageName()
	}
	if len(opts.InfraCommand) > 0 {
		ep := slices.Clone(opts.InfraCommand)
		s.Entrypoint = &ep
	}
	if p.shares(ShareUTS) {
		s.Hostname = p.hostname()
	}
	if !p.shares(ShareNet) {
		s.Namespaces.Network = "none"
	}
	if err := s.Validate(); err != nil {
		return "", err
	}
	if opts.InfraImage == "" {
		if _, err := e.pauseImage(ctx); err != nil {
			return "", err
		}
	}
	rep, err := e.ContainerCreate(ctx, s, ContainerCreateOptions{Pull: opts.Pull, ConmonPidFile: opts.InfraConmonPidFile, infra: true})
	if err != nil {
		return "", fmt.Errorf("pod %s: infra container: %w", p.Name, err)
	}
	return rep.ID, nil
}
