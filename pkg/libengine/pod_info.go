package libengine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/monitor"
)

// PodListOptions configure PodList.
type PodListOptions struct {
	// Filters are podman's pod ps filters: id=, name=, label=KEY[=VALUE],
	// status=, network=, until=, ctr-names=, ctr-ids=, ctr-status=,
	// ctr-number=. Values of one key are ORed, keys ANDed.
	Filters []string
}

// PodContainerSummary is one container in a row of pod ps.
type PodContainerSummary struct {
	ID           string `json:"Id"`
	Names        string `json:"Names"`
	Status       string `json:"Status"`
	RestartCount int    `json:"RestartCount"`
}

// PodSummary is one row of pod ps, shaped like podman's JSON.
type PodSummary struct {
	Cgroup     string                `json:"Cgroup"`
	Containers []PodContainerSummary `json:"Containers"`
	Created    time.Time             `json:"Created"`
	ID         string                `json:"Id"`
	InfraID    string                `json:"InfraId"`
	Name       string                `json:"Name"`
	Namespace  string                `json:"Namespace"`
	Networks   []string              `json:"Networks"`
	Status     string                `json:"Status"`
	Labels     map[string]string     `json:"Labels"`
}

// podMembers groups the containers of every pod by pod ID, reconciling
// those whose monitor died.
func (e *Engine) podMembers(ctx context.Context) (map[string][]*ctr, error) {
	recs, err := e.db.Containers(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]*ctr{}
	for _, r := range recs {
		if r.Pod == "" {
			continue
		}
		c, err := decodeCtr(r)
		if err != nil {
			return nil, err
		}
		out[r.Pod] = append(out[r.Pod], e.refreshStale(ctx, c))
	}
	return out, nil
}

// PodList returns the pods matching the filters, newest first. Like
// ContainerList it takes no lock.
func (e *Engine) PodList(ctx context.Context, opts PodListOptions) ([]PodSummary, error) {
	match, err := parsePodFilters(opts.Filters, time.Now())
	if err != nil {
		return nil, err
	}
	recs, err := e.db.Pods(ctx)
	if err != nil {
		return nil, err
	}
	out := []PodSummary{}
	if len(recs) == 0 {
		return out, nil
	}
	members, err := e.podMembers(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range slices.Backward(recs) {
		p, err := decodePod(r)
		if err != nil {
			return nil, err
		}
		if s := summarizePod(p, members[p.ID]); match(s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func summarizePod(p *pod, ctrs []*ctr) PodSummary {
	s := PodSummary{Created: p.Created, ID: p.ID, InfraID: p.InfraID, Name: p.Name, Labels: p.Labels,
		Containers: []PodContainerSummary{}, Networks: []string{}}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	statuses := make([]define.ContainerStatus, 0, len(ctrs))
	for _, c := range ctrs {
		s.Containers = append(s.Containers, PodContainerSummary{ID: c.ID, Names: c.Name, Status: string(c.State.Status), RestartCount: c.State.RestartCount})
		statuses = append(statuses, c.State.Status)
		if c.ID == p.InfraID {
			for _, n := range c.Networks {
				s.Networks = append(s.Networks, n.Network)
			}
		}
	}
	s.Status = string(define.PodStatusOf(statuses))
	return s
}

// podStatus is a locked pod's state.
func (e *Engine) podStatus(ctx context.Context, p *pod) (define.PodStatus, error) {
	ids, err := e.db.PodContainers(ctx, p.ID)
	if err != nil {
		return "", err
	}
	statuses := make([]define.ContainerStatus, 0, len(ids))
	for _, id := range ids {
		c, err := e.lookupCtr(ctx, id)
		if err != nil {
			return "", err
		}
		statuses = append(statuses, e.refreshStale(ctx, c).State.Status)
	}
	return define.PodStatusOf(statuses), nil
}

// parsePodFilters turns pod ps filters into one predicate.
func parsePodFilters(raw []string, now time.Time) (func(PodSummary) bool, error) {
	type pred func(PodSummary, string) bool
	anyCtr := func(f func(PodContainerSummary, string) bool) pred {
		return func(s PodSummary, v string) bool {
			return slices.ContainsFunc(s.Containers, func(c PodContainerSummary) bool { return f(c, v) })
		}
	}
	preds := map[string]pred{
		"id":   func(s PodSummary, v string) bool { return strings.HasPrefix(s.ID, v) },
		"name": func(s PodSummary, v string) bool { return matchName(v, s.Name) },
		"label": func(s PodSummary, v string) bool {
			k, val, hasValue := strings.Cut(v, "=")
			got, ok := s.Labels[k]
			return ok && (!hasValue || got == val)
		},
		"status":     func(s PodSummary, v string) bool { return strings.EqualFold(s.Status, v) },
		"network":    func(s PodSummary, v string) bool { return slices.Contains(s.Networks, v) },
		"ctr-names":  anyCtr(func(c PodContainerSummary, v string) bool { return matchName(v, c.Names) }),
		"ctr-ids":    anyCtr(func(c PodContainerSummary, v string) bool { return strings.HasPrefix(c.ID, v) }),
		"ctr-status": anyCtr(func(c PodContainerSummary, v string) bool { return c.Status == v }),
		"ctr-number": func(s PodSummary, v string) bool { return strconv.Itoa(len(s.Containers)) == v },
	}
	filters := map[string][]string{}
	var until []time.Time
	for _, r := range raw {
		k, v, ok := strings.Cut(r, "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("--filter %q: use KEY=VALUE: %w", r, define.ErrInvalidArg)
		}
		switch k {
		case "until":
			t, err := parseUntil(v, now)
			if err != nil {
				return nil, err
			}
			until = append(until, t)
			continue
		case "status":
			if !slices.Contains([]string{"created", "running", "paused", "exited", "stopped", "degraded", "error"}, strings.ToLower(v)) {
				return nil, fmt.Errorf("--filter status=%s: use created, running, paused, exited, stopped, degraded or error: %w", v, define.ErrInvalidArg)
			}
		case "ctr-status":
			if !slices.Contains(define.Statuses(), define.ContainerStatus(v)) {
				return nil, fmt.Errorf("--filter ctr-status=%s: use created, running, paused, stopping, exited or removing: %w", v, define.ErrInvalidArg)
			}
		}
		if preds[k] == nil {
			return nil, fmt.Errorf("--filter %q: unknown filter (use id, name, label, status, network, until, ctr-names, ctr-ids, ctr-status or ctr-number): %w", k, define.ErrInvalidArg)
		}
		filters[k] = append(filters[k], v)
	}
	return func(s PodSummary) bool {
		for k, vals := range filters {
			if !slices.ContainsFunc(vals, func(v string) bool { return preds[k](s, v) }) {
				return false
			}
		}
		for _, t := range until {
			if !s.Created.Before(t) {
				return false
			}
		}
		return true
	}, nil
}

// matchName matches a name filter as ps does: a glob, or a substring.
func matchName(filter, name string) bool {
	if ok, _ := path.Match(filter, name); ok {
		return true
	}
	return strings.Contains(name, filter)
}

// PodInspect is podman's `pod inspect` document for one pod.
type PodInspect struct {
	ID               string `json:"Id"`
	Name             string
	Created          time.Time
	CreateCommand    []string `json:",omitempty"`
	ExitPolicy       string
	State            string
	Hostname         string
	Labels           map[string]string
	CreateCgroup     bool
	CreateInfra      bool
	InfraContainerID string             `json:",omitempty"`
	InfraConfig      *PodInspectInfra   `json:",omitempty"`
	SharedNamespaces []string           `json:",omitempty"`
	NumContainers    int                `json:"NumContainers"`
	Containers       []PodInspectMember `json:"Containers"`
}

// PodInspectInfra is how the pod's infra container was configured.
type PodInspectInfra struct {
	PortBindings       map[string][]InspectHostPort
	HostNetwork        bool
	StaticIP           string
	StaticMAC          string
	NoManageResolvConf bool
	DNSServer          []string
	DNSSearch          []string
	DNSOption          []string
	NoManageHosts      bool
	HostAdd            []string
	Networks           []string
	NetworkOptions     map[string][]string
	PidNS              string `json:"pid_ns"`
	UserNS             string `json:"userns"`
	UtsNS              string `json:"uts_ns"`
}

// PodInspectMember is one of the pod's containers.
type PodInspectMember struct {
	ID    string `json:"Id"`
	Name  string
	State string
}

// PodInspect describes each named pod. Pods that cannot be found are left
// out and their errors (wrapping define.ErrNoSuchPod) joined.
func (e *Engine) PodInspect(ctx context.Context, names []string) ([]PodInspect, error) {
	out := []PodInspect{}
	var errs []error
	for _, name := range names {
		doc, err := e.inspectPod(ctx, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, *doc)
	}
	return out, errors.Join(errs...)
}

func (e *Engine) inspectPod(ctx context.Context, name string) (*PodInspect, error) {
	p, err := e.lookupPod(ctx, name)
	if err != nil {
		return nil, err
	}
	ids, err := e.db.PodContainers(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	doc := &PodInspect{ID: p.ID, Name: p.Name, Created: p.Created, CreateCommand: p.cfg.CreateCommand,
		ExitPolicy: firstNonEmpty(p.cfg.ExitPolicy, PodExitPolicyContinue), Hostname: p.cfg.Hostname, Labels: p.Labels, CreateInfra: p.InfraID != "",
		InfraContainerID: p.InfraID, SharedNamespaces: p.cfg.Share, Containers: []PodInspectMember{}}
	if doc.Labels == nil {
		doc.Labels = map[string]string{}
	}
	var statuses []define.ContainerStatus
	for _, id := range ids {
		c, err := e.lookupCtr(ctx, id)
		if err != nil {
			return nil, err
		}
		c = e.refreshStale(ctx, c)
		doc.Containers = append(doc.Containers, PodInspectMember{ID: c.ID, Name: c.Name, State: string(c.State.Status)})
		statuses = append(statuses, c.State.Status)
		if c.ID == p.InfraID {
			if doc.InfraConfig, err = inspectInfra(c); err != nil {
				return nil, err
			}
		}
	}
	doc.NumContainers, doc.State = len(ids), string(define.PodStatusOf(statuses))
	return doc, nil
}

func inspectInfra(c *ctr) (*PodInspectInfra, error) {
	s := c.cfg.Spec
	ports, err := portMappings(c)
	if err != nil {
		return nil, err
	}
	out := &PodInspectInfra{
		PortBindings: portBindings(ports), HostNetwork: s.Namespaces.Network == "host",
		DNSServer: s.DNSServers, DNSSearch: s.DNSSearch, DNSOption: s.DNSOptions, HostAdd: s.HostAdd,
		Networks: []string{}, PidNS: nsModeName(s.Namespaces.PID), UserNS: firstNonEmpty(s.Namespaces.User, "host"),
		UtsNS: nsModeName(s.Namespaces.UTS),
	}
	for _, n := range c.Networks {
		out.Networks = append(out.Networks, n.Network)
	}
	for _, a := range s.Networks {
		out.StaticIP = firstNonEmpty(out.StaticIP, strings.Join(a.IPs, ","))
		out.StaticMAC = firstNonEmpty(out.StaticMAC, a.MAC)
	}
	return out, nil
}

// PodExists reports whether a pod exists.
func (e *Engine) PodExists(ctx context.Context, nameOrID string) (bool, error) {
	_, err := e.db.Pod(ctx, nameOrID)
	if errors.Is(err, define.ErrNoSuchPod) {
		return false, nil
	}
	return err == nil, err
}

// runningPodCtrs returns the pod's running (or paused) containers, members
// first. A pod without any gives define.ErrCtrStateInvalid.
func (e *Engine) runningPodCtrs(ctx context.Context, p *pod) ([]*ctr, error) {
	members, infra, err := e.podCtrs(ctx, p)
	if err != nil {
		return nil, err
	}
	if infra != "" {
		members = append(members, infra)
	}
	var out []*ctr
	for _, id := range members {
		c, err := e.lookupCtr(ctx, id)
		if err != nil {
			return nil, err
		}
		if c = e.refreshStale(ctx, c); c.running() {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("pod %s is not running: start it with engine pod start %s: %w", p.Name, p.Name, define.ErrCtrStateInvalid)
	}
	return out, nil
}

// PodTop lists the processes of every running container of a pod, as
// ContainerTop lists one container's (same descriptors and ps options),
// in one table. Errors wrap define.ErrNoSuchPod, or
// define.ErrCtrStateInvalid for a pod that does not run.
func (e *Engine) PodTop(ctx context.Context, name string, args []string) ([]string, error) {
	p, err := e.lookupPod(ctx, name)
	if err != nil {
		return nil, err
	}
	ctrs, err := e.runningPodCtrs(ctx, p)
	if err != nil {
		return nil, err
	}
	rt, err := e.runtime(ctx)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, c := range ctrs {
		ps, err := rt.Ps(ctx, c.ID)
		if err != nil {
			return nil, fmt.Errorf("top %s: %w", c.Name, err)
		}
		pids = append(pids, ps...)
	}
	slices.Sort(pids)
	descs, ok := parseTopDescriptors(args)
	if !ok {
		return hostPS(ctx, pids, args)
	}
	return topFromProc(pids, descs, time.Now())
}

// PodStatsOptions configure PodStats.
type PodStatsOptions struct {
	// Stream reports again every Interval until ctx ends.
	Stream   bool
	Interval time.Duration
}

// PodStats is a container's sample with its pod.
type PodStats struct {
	Pod string
	ContainerStats
}

// PodStats samples the running containers of the named pods (every pod
// when none is named) and calls fn with one report per container, as
// ContainerStats does. Errors wrap define.ErrNoSuchPod.
func (e *Engine) PodStats(ctx context.Context, names []string, opts PodStatsOptions, fn func([]PodStats) error) error {
	var pods []*pod
	if len(names) == 0 {
		recs, err := e.db.Pods(ctx)
		if err != nil {
			return err
		}
		for _, r := range recs {
			p, err := decodePod(r)
			if err != nil {
				return err
			}
			pods = append(pods, p)
		}
	}
	for _, n := range names {
		p, err := e.lookupPod(ctx, n)
		if err != nil {
			return err
		}
		pods = append(pods, p)
	}
	podOf := map[string]string{}
	var ids []string
	for _, p := range pods {
		ctrs, err := e.runningPodCtrs(ctx, p)
		if errors.Is(err, define.ErrCtrStateInvalid) {
			continue
		}
		if err != nil {
			return err
		}
		for _, c := range ctrs {
			podOf[c.ID] = p.ID
			ids = append(ids, c.ID)
		}
	}
	if len(ids) == 0 {
		return fn(nil)
	}
	return e.ContainerStats(ctx, ids, ContainerStatsOptions{Stream: opts.Stream, Interval: opts.Interval}, func(st []ContainerStats) error {
		out := make([]PodStats, len(st))
		for i, s := range st {
			out[i] = PodStats{Pod: podOf[s.ContainerID], ContainerStats: s}
		}
		return fn(out)
	})
}

// PodLogsOptions configure PodLogs.
type PodLogsOptions struct {
	monitor.LogReadOptions
	// Container narrows the logs to one of the pod's containers.
	Container string
	// Names prefixes each line with its container's name instead of its
	// short ID (podman's --names).
	Names bool
	// Stdout and Stderr receive the streams, each line prefixed.
	Stdout, Stderr io.Writer
}

// PodLogs writes the logs of a pod's containers (not the infra
// container's, nor those of containers that keep no log), each line
// prefixed with the container's short ID or name: one container after the other, or,
// with Follow, all at once until they exit or ctx ends. Errors wrap
// define.ErrNoSuchPod, or define.ErrNoSuchContainer for a Container not in
// the pod.
func (e *Engine) PodLogs(ctx context.Context, name string, opts PodLogsOptions) error {
	p, err := e.lookupPod(ctx, name)
	if err != nil {
		return err
	}
	members, _, err := e.podCtrs(ctx, p)
	if err != nil {
		return err
	}
	var ctrs []*ctr
	for _, id := range members {
		c, err := e.lookupCtr(ctx, id)
		if err != nil {
			return err
		}
		if opts.Container != "" && opts.Container != c.Name && !strings.HasPrefix(c.ID, opts.Container) {
			continue
		}
		switch c.cfg.Spec.LogDriver {
		case monitor.LogDriverNone, monitor.LogDriverPassthrough:
			continue
		}
		ctrs = append(ctrs, c)
	}
	if opts.Container != "" && len(ctrs) == 0 {
		return fmt.Errorf("container %s is not in pod %s, or keeps no log: %w", opts.Container, p.Name, define.ErrNoSuchContainer)
	}
	var mu sync.Mutex
	logs := func(c *ctr) error {
		prefix := shortID(c.ID)
		if opts.Names {
			prefix = c.Name
		}
		stdout := &prefixWriter{mu: &mu, w: opts.Stdout, prefix: []byte(prefix + " ")}
		stderr := &prefixWriter{mu: &mu, w: opts.Stderr, prefix: stdout.prefix}
		err := e.ContainerLogs(ctx, []string{c.ID}, ContainerLogsOptions{LogReadOptions: opts.LogReadOptions, Stdout: stdout, Stderr: stderr})
		return errors.Join(err, stdout.flush(), stderr.flush())
	}
	if !opts.Follow {
		for _, c := range ctrs {
			if err := logs(c); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, len(ctrs))
	var wg sync.WaitGroup
	for i, c := range ctrs {
		wg.Go(func() { errs[i] = logs(c) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// prefixWriter writes whole lines, each with a prefix, to a writer shared
// under mu with other prefixWriters.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix []byte
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	i := bytes.LastIndexByte(p.buf, '\n')
	if i < 0 {
		return len(b), nil
	}
	if err := p.emit(p.buf[:i+1]); err != nil {
		return 0, err
	}
	p.buf = append(p.buf[:0], p.buf[i+1:]...)
	return len(b), nil
}

// flush writes a last line that had no newline.
func (p *prefixWriter) flush() error {
	if len(p.buf) == 0 {
		return nil
	}
	err := p.emit(append(p.buf, '\n'))
	p.buf = nil
	return err
}

func (p *prefixWriter) emit(lines []byte) error {
	var out []byte
	for line := range bytes.Lines(lines) {
		out = append(append(out, p.prefix...), line...)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := p.w.Write(out)
	return err
}
