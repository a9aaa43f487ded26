package libengine

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/lock"
	"github.com/sirupsen/logrus"
)

// ContainerListOptions configure ContainerList.
type ContainerListOptions struct {
	// All includes containers that are not running.
	All bool
	// Last keeps the n most recently created (implies All); 0 keeps all.
	Last int
	// Filters are podman's ps filters: id=, name=, label=KEY[=VALUE],
	// status=, ancestor=, exited=CODE, before=, since=.
	Filters []string
	// Size fills the summaries' Size (it reads every container layer).
	Size bool
}

// ContainerSize is a container's size in ps: its own changes, and those
// plus its image.
type ContainerSize struct {
	RwSize     int64 `json:"rwSize"`
	RootFsSize int64 `json:"rootFsSize"`
}

// ContainerSummary is one row of ps, shaped like podman's JSON.
type ContainerSummary struct {
	ID         string            `json:"Id"`
	Names      []string          `json:"Names"`
	Image      string            `json:"Image"`
	ImageID    string            `json:"ImageID"`
	Command    []string          `json:"Command"`
	Created    time.Time         `json:"Created"`
	State      string            `json:"State"`
	ExitCode   int               `json:"ExitCode"`
	Exited     bool              `json:"Exited"`
	ExitedAt   int64             `json:"ExitedAt"`
	StartedAt  int64             `json:"StartedAt"`
	Pid        int               `json:"Pid"`
	Labels     map[string]string `json:"Labels"`
	AutoRemove bool              `json:"AutoRemove"`
	Ports      []string          `json:"Ports"`
	Restarts   int               `json:"Restarts"`
	Size       *ContainerSize    `json:"Size,omitempty"`
	// Status is the health of a running container with a health check
	// (starting, healthy, unhealthy), as podman's ps fills it.
	Status string `json:"Status"`
	// Pod and PodName are the container's pod, if any.
	Pod     string `json:"Pod"`
	PodName string `json:"PodName"`
}

// ContainerList returns containers matching the options, newest first. It
// takes no container lock: a container whose monitor died is cleaned up
// only when its lock is free, so ps never waits.
func (e *Engine) ContainerList(ctx context.Context, opts ContainerListOptions) ([]ContainerSummary, error) {
	filters, err := parseCtrFilters(opts.Filters)
	if err != nil {
		return nil, err
	}
	recs, err := e.db.Containers(ctx)
	if err != nil {
		return nil, err
	}
	ctrs := make([]*ctr, 0, len(recs))
	for _, r := range recs {
		c, err := decodeCtr(r)
		if err != nil {
			return nil, err
		}
		ctrs = append(ctrs, e.refreshStale(ctx, c))
	}
	slices.Reverse(ctrs)
	if opts.Last > 0 && len(ctrs) > opts.Last {
		ctrs = ctrs[:opts.Last]
	}
	out := []ContainerSummary{}
	health := e.healthStatuses(ctx, ctrs)
	for _, c := range ctrs {
		running := c.State.Status == define.StatusRunning || c.State.Status == define.StatusPaused
		if !opts.All && opts.Last == 0 && !running && !filters.wantsStatus() {
			continue
		}
		if !filters.match(c, ctrs) {
			continue
		}
		sum := summarize(c)
		sum.Status = health[c.ID]
		if opts.Size {
			if sum.Size, err = e.ctrSize(c.ID, c.ImageID); err != nil {
				return nil, err
			}
		}
		if c.running() {
			sum.Ports = e.psPorts(c.ID)
		}
		out = append(out, sum)
	}
	return out, e.namePods(ctx, out)
}

func (e *Engine) ctrSize(id, imageID string) (*ContainerSize, error) {
	sc, err := e.store.Container(id)
	if err != nil {
		return nil, fmt.Errorf("container %s: root filesystem: %w", shortID(id), err)
	}
	rw, rootfs, err := e.containerSizes(sc.LayerID, imageID)
	if err != nil {
		return nil, fmt.Errorf("size of container %s: %w", shortID(id), err)
	}
	return &ContainerSize{RwSize: rw, RootFsSize: rootfs}, nil
}

// namePods fills in the names of the containers' pods.
func (e *Engine) namePods(ctx context.Context, sums []ContainerSummary) error {
	if !slices.ContainsFunc(sums, func(s ContainerSummary) bool { return s.Pod != "" }) {
		return nil
	}
	pods, err := e.db.Pods(ctx)
	if err != nil {
		return err
	}
	names := make(map[string]string, len(pods))
	for _, p := range pods {
		names[p.ID] = p.Name
	}
	for i := range sums {
		sums[i].PodName = names[sums[i].Pod]
	}
	return nil
}

func summarize(c *ctr) ContainerSummary {
	s := ContainerSummary{
		ID: c.ID, Names: []string{c.Name}, Image: c.ImageName, ImageID: c.ImageID,
		Command: c.Command, Created: c.Created, State: string(c.State.Status),
		ExitCode: c.State.ExitCode, Exited: c.State.Status == define.StatusExited,
		Pid: c.State.Pid, Labels: c.Labels, AutoRemove: c.cfg.Spec.Remove,
		Restarts: c.State.RestartCount, Ports: []string{}, Pod: c.Pod,
	}
	if !c.State.FinishedAt.IsZero() {
		s.ExitedAt = c.State.FinishedAt.Unix()
	}
	if !c.State.StartedAt.IsZero() {
		s.StartedAt = c.State.StartedAt.Unix()
	}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	return s
}

// refreshStale cleans up a container the database calls running whose
// monitor is gone (killed, or the host rebooted), if nobody holds its lock.
func (e *Engine) refreshStale(ctx context.Context, c *ctr) *ctr {
	switch c.State.Status {
	case define.StatusRunning, define.StatusPaused, define.StatusStopping:
	default:
		return c
	}
	if c.State.MonitorPid > 0 && processAlive(c.State.MonitorPid) {
		return c
	}
	l, ok, err := lock.TryAcquire(filepath.Join(e.store.RunRoot(), "locks", "ctr-"+c.ID))
	if err != nil || !ok {
		return c
	}
	defer l.Release()
	fresh, err := e.reload(ctx, c)
	if err != nil {
		return c
	}
	if _, err := e.cleanupLocked(ctx, fresh, false, nil); err != nil {
		logrus.Debugf("clean up %s: %v", c.Name, err)
	}
	return fresh
}

// ctrFilters are parsed ps filters; each key's values are ORed, keys ANDed.
type ctrFilters map[string][]string

func parseCtrFilters(raw []string) (ctrFilters, error) {
	f := ctrFilters{}
	for _, r := range raw {
		k, v, ok := strings.Cut(r, "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("--filter %q: use KEY=VALUE: %w", r, define.ErrInvalidArg)
		}
		switch k {
		case "id", "name", "label", "ancestor", "before", "since":
		case "status":
			if !slices.Contains([]string{"created", "running", "paused", "exited", "stopped", "removing", "stopping", "unknown"}, v) {
				return nil, fmt.Errorf("--filter status=%s: use created, running, paused, exited, stopping or removing: %w", v, define.ErrInvalidArg)
			}
		case "exited":
			if _, err := strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("--filter exited=%s: the exit code must be a number: %w", v, define.ErrInvalidArg)
			}
		default:
			return nil, fmt.Errorf("--filter %q: unknown filter (use id, name, label, status, ancestor, exited, before or since): %w", k, define.ErrInvalidArg)
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

func (f ctrFilters) wantsStatus() bool {
	return len(f["status"]) > 0 || len(f["exited"]) > 0
}

func (f ctrFilters) match(c *ctr, all []*ctr) bool {
	for k, vals := range f {
		if !slices.ContainsFunc(vals, func(v string) bool { return matchCtrFilter(k, v, c, all) }) {
			return false
		}
	}
	return true
}

func matchCtrFilter(key, val string, c *ctr, all []*ctr) bool {
	switch key {
	case "id":
		return strings.HasPrefix(c.ID, val)
	case "name":
		if ok, _ := path.Match(val, c.Name); ok {
			return true
		}
		return strings.Contains(c.Name, val)
	case "label":
		k, v, hasValue := strings.Cut(val, "=")
		got, ok := c.Labels[k]
		return ok && (!hasValue || got == v)
	case "status":
		return string(c.State.Status) == val || (val == "stopped" && c.State.Status == define.StatusExited)
	case "exited":
		code, _ := strconv.Atoi(val)
		return c.State.Status == define.StatusExited && c.State.ExitCode == code
	case "ancestor":
		if strings.HasPrefix(c.ImageID, strings.TrimPrefix(val, "sha256:")) {
			return true
		}
		img := c.ImageName
		return img == val || strings.HasSuffix(img, "/"+val) || strings.HasSuffix(img, "/"+val+":latest") ||
			strings.TrimSuffix(img, ":latest") == val
	case "before", "since":
		for _, o := range all {
			if o.ID == val || o.Name == val || (len(val) >= 3 && strings.HasPrefix(o.ID, val)) {
				if key == "before" {
					return c.Created.Before(o.Created)
				}
				return c.Created.After(o.Created)
			}
		}
		return false
	}
	return false
}
