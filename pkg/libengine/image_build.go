package libengine

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/engine-oss/engine/pkg/libengine/build"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/monitor"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/archive"
)

// BuildOptions configure ImageBuild. The zero value builds ./Containerfile
// without the layer cache; the command line sets Layers, as podman does.
type BuildOptions struct {
	// ContextDir is the build context: a directory, or "-" for a tar
	// archive (plain or compressed) read from Stdin. A Stdin that is no
	// archive is the Containerfile of a build without context.
	ContextDir string
	// Containerfiles are read and joined in order; each is a path (tried
	// as given, then inside the context) or "-" for Stdin. Empty means the
	// context's Containerfile, else its Dockerfile.
	Containerfiles []string
	// Stdin is read for "-".
	Stdin io.Reader
	// Tags name the image; short names become localhost/NAME:latest.
	Tags []string
	// BuildArgs are --build-arg values for ARG instructions and the
	// predefined proxy arguments.
	BuildArgs map[string]string
	// Target is the stage to build; empty builds the last one.
	Target string
	// Layers keeps an image per step and reuses the ones an earlier build
	// made for the same step (the layer cache); without it, or with
	// Squash, the image gets one new layer holding all the build's changes.
	Layers bool
	// NoCache runs every step again; the new steps still fill the cache.
	NoCache bool
	Squash  bool
	// Pull is the policy for FROM and COPY --from images: "missing" (the
	// default when empty), "always", "never" or "newer".
	Pull     string
	Registry RegistryOptions
	// Format is FormatOCI (the default) or FormatDocker.
	Format string
	// Labels are set in the image's config; Annotations in its (OCI)
	// manifest.
	Labels, Annotations map[string]string
	// Network is the network mode of RUN steps; empty is the engine's
	// default.
	Network string
	// Env is set in the config of every stage as it starts, after FROM
	// (--env): RUN steps see it, ENV instructions override it, and the
	// image keeps it.
	Env map[string]string
	// GroupAdd, DNSServers, DNSSearch and DNSOptions are the RUN steps'
	// --group-add, --dns, --dns-search and --dns-option.
	GroupAdd                          []string
	DNSServers, DNSSearch, DNSOptions []string
	// Retries and RetryDelay are the retries of the pulls of FROM and
	// COPY --from images, as PullOptions'.
	Retries    *uint
	RetryDelay time.Duration
	// Mounts are mounted into every RUN step's container (--volume).
	Mounts []specgen.Mount
	// Secrets map an ID to a host file that RUN --mount=type=secret,id=ID
	// mounts read-only (at /run/secrets/ID unless it names a target) for
	// that step only; the file never reaches the image.
	Secrets map[string]string
	// Out receives the steps and their output, podman's way; Err the
	// standard error of RUN steps and warnings. Nil discards.
	Out, Err io.Writer
	// Quiet prints nothing; a failing RUN's last output is then in the
	// error.
	Quiet bool
}

// BuildReport is the image a build made.
type BuildReport struct {
	ID    string
	Names []string
}

// buildMeta is the store metadata of the images a build makes: the image
// of the previous step and the layer cache's key of the step.
type buildMeta struct {
	Parent string `json:"engine-build-parent,omitempty"`
	Key    string `json:"engine-build-cache,omitempty"`
}

func parseBuildMeta(s string) buildMeta {
	var m buildMeta
	if strings.Contains(s, "engine-build-") {
		_ = json.Unmarshal([]byte(s), &m) // other writers' metadata is no build's
	}
	return m
}

// ImageBuild builds an image from a Containerfile, as podman build does:
// each RUN in a container created like `run` creates it, COPY and ADD as
// a layer written directly, other instructions in the config. With Layers
// each step's image is kept (hidden from `images`) and found again by its
// cache key by later builds. Intermediate containers are removed, also
// when a step fails.
//
// Errors wrap define.ErrInvalidArg for a bad Containerfile (NAME:LINE:),
// option or instruction, fs.ErrNotExist for missing sources,
// define.ErrArchiveEscape for a context archive leading out of its
// directory, define.ErrNoSuchImage for a FROM image that cannot be had,
// and a failing RUN is a *define.ExitError carrying its exit code.
func (e *Engine) ImageBuild(ctx context.Context, opts BuildOptions) (*BuildReport, error) {
	if opts.Format == "" {
		opts.Format = FormatOCI
	}
	if opts.Format != FormatOCI && opts.Format != FormatDocker {
		return nil, fmt.Errorf("--format %q: use oci or docker: %w", opts.Format, define.ErrInvalidArg)
	}
	switch opts.Pull {
	case "", "missing", "always", "never", "newer":
	default:
		return nil, fmt.Errorf("--pull %q: use always, missing, never or newer: %w", opts.Pull, define.ErrInvalidArg)
	}
	var names []string
	for _, t := range opts.Tags {
		named, err := NormalizeName(t)
		if err != nil {
			return nil, fmt.Errorf("--tag: %w: %w", define.ErrInvalidArg, err)
		}
		names = append(names, named.String())
	}
	if err := checkBuildArch(opts.Registry.Arch, runtime.GOARCH); err != nil {
		return nil, err
	}
	for id, src := range opts.Secrets {
		if fi, err := os.Stat(src); err != nil || !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("--secret id=%s: %s is not a readable file: %w", id, src, define.ErrInvalidArg)
		}
	}
	b := &builder{e: e, opts: &opts, stages: map[int]*stage{}, mounts: map[string]string{}, used: map[string]bool{}}
	if !opts.Quiet {
		b.out, b.errw = opts.Out, opts.Err
	}
	defer b.unmountAll()
	file, cleanup, err := b.load()
	if cleanup != nil {
		defer cleanup()
	}
	if err != nil {
		return nil, err
	}
	b.file, b.x = file, build.NewExpander(file.Escape)
	for _, w := range file.Warnings {
		progress(b.errw, "[Warning] %s\n", w)
	}
	target, err := file.Target(opts.Target)
	if err != nil {
		return nil, err
	}
	if err := b.metaArgs(); err != nil {
		return nil, err
	}
	if opts.Layers && !opts.Squash && !opts.NoCache {
		if err := b.loadCache(); err != nil {
			return nil, err
		}
	}
	var final *stage
	for _, i := range file.Needed(target) {
		st, err := b.buildStage(ctx, i, i == target)
		if err != nil {
			b.discard()
			return nil, err
		}
		b.stages[i] = st
		final = st
	}
	id, err := b.finish(ctx, final, names)
	if err != nil {
		b.discard()
		return nil, err
	}
	b.warnUnused()
	e.event(ctx, "image", "build", id, firstNonEmpty(append(slices.Clone(names), id)...), nil)
	return &BuildReport{ID: id, Names: names}, nil
}

// builder is one build in progress.
type builder struct {
	e    *Engine
	opts *BuildOptions
	file *build.File
	x    *build.Expander
	// context is the build context; nil for a build without one.
	context   *build.Tree
	out, errw io.Writer
	meta      *build.Args
	used      map[string]bool   // --build-arg names some ARG consumed
	stages    map[int]*stage    // the stages built, by index
	cache     map[string]string // cache key -> image ID
	mounts    map[string]string // image ID -> where MountImage mounted it
	// created lists the images this build made, oldest first, for a
	// build without layers to remove once the final image exists.
	created []string
}

// stage is the state of one stage while it is built.
type stage struct {
	index int
	// image is the image the stage is at, "" while a FROM scratch stage
	// has none yet; top is its top layer, base the top layer of the image
	// the stage started from (for --squash).
	image, top, base string
	cfg              *imageConfig
	docker           dockerspec.DockerOCIImageConfigExt
	args             *build.Args
	// baseHistory is the number of history entries of the base image.
	baseHistory int
	// cmdSet says CMD was set in this stage: ENTRYPOINT then keeps it.
	cmdSet bool
}

// load reads the context and the Containerfiles and parses them.
func (b *builder) load() (*build.File, func(), error) {
	var text bytes.Buffer
	var name string
	var cleanup func()
	dir := b.opts.ContextDir
	if dir == "" {
		dir = "."
	}
	stdinUsed := false
	if dir == "-" {
		if b.opts.Stdin == nil {
			return nil, nil, fmt.Errorf("context \"-\": no standard input: %w", define.ErrInvalidArg)
		}
		stdinUsed = true
		tmp, isTar, err := b.contextFromStdin()
		if err != nil {
			return nil, nil, err
		}
		if isTar {
			cleanup = func() { removeTemp(tmp) }
			dir = tmp
		} else {
			// A Containerfile on standard input: a build without context.
			data, err := os.ReadFile(tmp)
			removeTemp(tmp)
			if err != nil {
				return nil, nil, err
			}
			if len(b.opts.Containerfiles) > 0 {
				return nil, nil, fmt.Errorf("context \"-\" is not a tar archive: pass a context directory with -f: %w", define.ErrInvalidArg)
			}
			text.Write(data)
			name, dir = "stdin", ""
		}
	}
	if dir != "" {
		t, err := build.OpenContext(dir)
		if err != nil {
			return nil, cleanup, err
		}
		b.context = t
	}
	files := b.opts.Containerfiles
	if len(files) == 0 && name == "" {
		for _, n := range []string{"Containerfile", "Dockerfile"} {
			if _, err := os.Stat(filepath.Join(b.context.Root, n)); err == nil {
				files = []string{filepath.Join(b.context.Root, n)}
				break
			}
		}
		if len(files) == 0 {
			return nil, cleanup, fmt.Errorf("no Containerfile or Dockerfile in %s: pass one with -f: %w", dir, os.ErrNotExist)
		}
	}
	for _, f := range files {
		var data []byte
		var err error
		switch {
		case f == "-" && stdinUsed:
			return nil, cleanup, fmt.Errorf("-f - and context - both read standard input: give one of them a file: %w", define.ErrInvalidArg)
		case f == "-":
			stdinUsed = true
			data, err = io.ReadAll(b.opts.Stdin)
			f = "stdin"
		default:
			data, err = os.ReadFile(f)
			if errors.Is(err, os.ErrNotExist) && !filepath.IsAbs(f) && b.context != nil {
				data, err = os.ReadFile(filepath.Join(b.context.Root, f))
			}
		}
		if err != nil {
			return nil, cleanup, fmt.Errorf("read Containerfile: %w", err)
		}
		if name == "" {
			name = f
		}
		text.Write(data)
		text.WriteByte('\n')
	}
	file, err := build.Parse(&text, name)
	return file, cleanup, err
}

// contextFromStdin spools standard input and, when it is a tar archive
// (plain or compressed), extracts it into a new temporary directory,
// confining every entry to it. It returns that directory, or the spooled
// file and false.
func (b *builder) contextFromStdin() (string, bool, error) {
	br := bufio.NewReaderSize(b.opts.Stdin, 64<<10)
	_, decompress, r, err := compression.DetectCompressionFormat(br)
	if err != nil {
		return "", false, fmt.Errorf("read context from standard input: %w", err)
	}
	if decompress != nil {
		rc, err := decompress(r)
		if err != nil {
			return "", false, fmt.Errorf("decompress context: %w", err)
		}
		defer closeQuietly(rc)
		r = rc
	}
	head := bufio.NewReaderSize(r, 1024)
	peek, _ := head.Peek(512)
	if len(peek) < 512 || string(peek[257:262]) != "ustar" {
		path, err := b.e.spoolToFile(head, "engine-build-")
		return path, false, err
	}
	dir, err := os.MkdirTemp(b.e.tmpDir(), "engine-build-context-")
	if err != nil {
		return "", false, fmt.Errorf("create temporary directory: %w (point --tmpdir at a writable directory)", err)
	}
	keepOwner := func(*tar.Header) (int, int, bool) { return 0, 0, false }
	if err := extractTar(head, dir, ".", keepOwner, true); err != nil {
		removeTemp(dir)
		return "", false, fmt.Errorf("context from standard input: %w", err)
	}
	return dir, true, nil
}

// metaArgs evaluates the ARGs before the first FROM, which FROM lines
// and ARGs without a value inside stages can use.
func (b *builder) metaArgs() error {
	b.meta = &build.Args{}
	for k, v := range build.PlatformArgs() {
		b.meta.Declare(k, &v)
	}
	for _, a := range b.file.MetaArgs {
		for _, kv := range a.Args {
			if err := b.declare(b.meta, kv, b.meta.Env()); err != nil {
				return err
			}
		}
	}
	return nil
}

// declare brings one ARG into scope: a --build-arg wins over the default,
// which is expanded with env; without either, the meta ARG of that name,
// if any, gives the value.
func (b *builder) declare(args *build.Args, kv instructions.KeyValuePairOptional, env []string) error {
	if v, ok := b.opts.BuildArgs[kv.Key]; ok {
		b.used[kv.Key] = true
		args.Declare(kv.Key, &v)
		return nil
	}
	if kv.Value != nil {
		v, err := b.x.Func(env)(*kv.Value)
		if err != nil {
			return err
		}
		args.Declare(kv.Key, &v)
		return nil
	}
	if b.meta != nil && args != b.meta {
		if v, ok := b.meta.Lookup(kv.Key); ok {
			args.Declare(kv.Key, &v)
			return nil
		}
	}
	args.Declare(kv.Key, nil)
	return nil
}

// warnUnused warns about --build-arg values no ARG used, as podman does.
func (b *builder) warnUnused() {
	var unused []string
	for k := range b.opts.BuildArgs {
		if !b.used[k] && !slices.Contains(build.ProxyArgs, k) {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		slices.Sort(unused)
		progress(b.errw, "[Warning] one or more build args were not consumed: %v\n", unused)
	}
}

// loadCache indexes the images earlier builds left by their cache key.
func (b *builder) loadCache() error {
	imgs, err := b.e.store.Images()
	if err != nil {
		return fmt.Errorf("list images: %w", err)
	}
	b.cache = map[string]string{}
	for _, img := range imgs {
		if m := parseBuildMeta(img.Metadata); m.Key != "" {
			b.cache[m.Key] = img.ID
		}
	}
	return nil
}

// stepLine prints a step as podman does: "[STAGE/STAGES] STEP N/M: TEXT".
func (b *builder) stepLine(st int, n, total int, text string) {
	prefix := ""
	if len(b.file.Stages) > 1 {
		prefix = fmt.Sprintf("[%d/%d] ", st+1, len(b.file.Stages))
	}
	progress(b.out, "%sSTEP %d/%d: %s\n", prefix, n, total, text)
}

// buildStage runs one stage's FROM and instructions.
func (b *builder) buildStage(ctx context.Context, i int, isTarget bool) (*stage, error) {
	s := &b.file.Stages[i]
	total := 1 + len(s.Commands)
	b.stepLine(i, 1, total, s.SourceCode)
	st, triggers, err := b.from(ctx, i, s)
	if err != nil {
		return nil, atStep(s.SourceCode, err)
	}
	for _, k := range slices.Sorted(maps.Keys(b.opts.Env)) {
		st.cfg.Config.Env = setEnv(st.cfg.Config.Env, k, b.opts.Env[k])
	}
	cmds := append(triggers, s.Commands...)
	for j, c := range cmds {
		text := instructionText(c)
		if j < len(triggers) {
			b.stepLine(i, 1, total, "ONBUILD "+text)
		} else {
			b.stepLine(i, j-len(triggers)+2, total, text)
		}
		hit, err := b.step(ctx, st, c)
		if err != nil {
			return nil, atStep(text, err)
		}
		if hit {
			progress(b.out, "--> Using cache %s\n", st.image)
		}
		if !isTarget || j < len(cmds)-1 {
			progress(b.out, "--> %.11s\n", st.image)
		}
	}
	return st, nil
}

// atStep says which step failed; a failed RUN keeps its exit code.
func atStep(text string, err error) error {
	var ee *define.ExitError
	if errors.As(err, &ee) {
		return &define.ExitError{Code: ee.Code, Err: fmt.Errorf("building at STEP \"%s\": %w", text, ee.Err)}
	}
	return fmt.Errorf("building at STEP \"%s\": %w", text, err)
}

// instructionText is an instruction as written, on one line.
func instructionText(c instructions.Command) string {
	if s, ok := c.(fmt.Stringer); ok {
		return s.String()
	}
	return c.Name()
}

// from starts a stage: from scratch, an earlier stage or an image, and
// returns the base image's ONBUILD triggers.
func (b *builder) from(ctx context.Context, i int, s *instructions.Stage) (*stage, []instructions.Command, error) {
	base, err := b.x.Func(b.meta.Env())(s.BaseName)
	if err != nil {
		return nil, nil, err
	}
	st := &stage{index: i, args: &build.Args{}}
	if j := b.file.StageIndex(base, i); j >= 0 && !isNumber(base) {
		prev := b.stages[j]
		if prev == nil {
			return nil, nil, fmt.Errorf("stage %q was not built: %w", base, define.ErrInvalidArg)
		}
		if err := b.ensureImage(prev); err != nil {
			return nil, nil, err
		}
		st.image, st.top, st.base = prev.image, prev.top, prev.top
		st.cfg, st.docker, st.baseHistory = cloneConfig(prev.cfg), prev.docker, len(prev.cfg.History)
		return st, nil, nil
	}
	if strings.EqualFold(base, "scratch") {
		now := time.Now().UTC()
		st.cfg = &imageConfig{Image: imgspecv1.Image{
			Created:  &now,
			Platform: imgspecv1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH, Variant: b.opts.Registry.Variant},
			RootFS:   imgspecv1.RootFS{Type: "layers"},
		}}
		return st, nil, nil
	}
	img, err := b.image(ctx, base)
	if err != nil {
		return nil, nil, err
	}
	cfg, ext, err := b.e.readBuildConfig(ctx, img)
	if err != nil {
		return nil, nil, err
	}
	st.image, st.top, st.base, st.cfg, st.docker = img.ID, img.TopLayer, img.TopLayer, cfg, ext
	st.baseHistory = len(cfg.History)
	triggers, err := build.ParseTriggers(ext.OnBuild)
	if err != nil {
		return nil, nil, err
	}
	st.docker.OnBuild = nil // triggers run once, in the image built FROM this one
	return st, triggers, nil
}

func isNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// image finds or pulls an image for FROM or COPY --from with the pull
// policy.
func (b *builder) image(ctx context.Context, name string) (*storage.Image, error) {
	return b.e.imageForContainer(ctx, &specgen.SpecGenerator{Image: name, Pull: b.opts.Pull},
		PullOptions{RegistryOptions: b.opts.Registry, ReportWriter: b.out, Retries: b.opts.Retries, RetryDelay: b.opts.RetryDelay})
}

// readBuildConfig reads an image's config with the Docker-only fields.
func (e *Engine) readBuildConfig(ctx context.Context, img *storage.Image) (*imageConfig, dockerspec.DockerOCIImageConfigExt, error) {
	var ext struct {
		Config dockerspec.DockerOCIImageConfigExt `json:"config"`
	}
	key := configKey(img)
	if key == "" {
		cfg, err := e.readImageConfig(ctx, img)
		return cfg, ext.Config, err
	}
	blob, err := e.store.ImageBigData(img.ID, key)
	if err != nil {
		return nil, ext.Config, fmt.Errorf("read config of image %s: %w", img.ID, err)
	}
	cfg := &imageConfig{}
	if err := json.Unmarshal(blob, cfg); err != nil {
		return nil, ext.Config, fmt.Errorf("parse config of image %s: %w", img.ID, err)
	}
	if err := json.Unmarshal(blob, &ext); err != nil {
		return nil, ext.Config, fmt.Errorf("parse config of image %s: %w", img.ID, err)
	}
	return cfg, ext.Config, nil
}

// cloneConfig deep-copies a config.
func cloneConfig(cfg *imageConfig) *imageConfig {
	blob, err := json.Marshal(cfg)
	if err != nil {
		panic(fmt.Sprintf("encode image config: %v", err)) // plain data always encodes
	}
	out := &imageConfig{}
	if err := json.Unmarshal(blob, out); err != nil {
		panic(fmt.Sprintf("decode image config: %v", err))
	}
	return out
}

// env is what instruction arguments expand with: the ARGs in scope, then
// the config's environment, which wins.
func (st *stage) env() []string {
	return append(st.args.Env(), st.cfg.Config.Env...)
}

// ensureImage gives a FROM scratch stage that has no image yet one
// without layers, for a container or a later stage to start from.
func (b *builder) ensureImage(st *stage) error {
	if st.image != "" {
		return nil
	}
	id, err := b.e.createImage("", newImage{Config: cloneConfig(st.cfg), Docker: st.docker, Format: b.opts.Format, Created: time.Now().UTC()})
	if err != nil {
		return err
	}
	b.created = append(b.created, id)
	st.image = id
	return nil
}

// stepPlan is what one instruction does, worked out before the cache is
// consulted.
type stepPlan struct {
	// extra are cache-key inputs beyond the instruction and the ARGs:
	// the digest of the files a COPY reads, say.
	extra []string
	// createdBy is the history entry's text.
	createdBy string
	// apply changes the config; nil for none.
	apply func(cfg *imageConfig, ext *dockerspec.DockerOCIImageConfigExt) error
	// layer, when set, records the step's image with a new layer on top
	// of the stage's image (ni has the updated config and history).
	layer func(ctx context.Context, ni newImage) (string, error)
	// needsImage says layer starts a container from the stage's image.
	needsImage bool
}

// step runs one instruction, from the cache when it can, and moves the
// stage to the step's image. It reports a cache hit.
func (b *builder) step(ctx context.Context, st *stage, c instructions.Command) (bool, error) {
	if ex, ok := c.(instructions.SupportsSingleWordExpansion); ok {
		if _, isArg := c.(*instructions.ArgCommand); !isArg {
			if err := ex.Expand(b.x.Func(st.env())); err != nil {
				return false, err
			}
		}
	}
	if ex, ok := c.(instructions.SupportsSingleWordExpansionRaw); ok {
		if err := ex.ExpandRaw(b.x.Func(st.env())); err != nil {
			return false, err
		}
	}
	plan, err := b.plan(ctx, st, c)
	if err != nil {
		return false, err
	}
	parent := st.image
	if parent == "" {
		parent = "scratch:" + st.cfg.OS + "/" + st.cfg.Architecture
	}
	key := build.CacheKey(parent, instructionText(c), st.args.Env(), append([]string{b.opts.Format, plan.createdBy}, append(plan.extra, b.envKey()...)...)...)
	if id, ok := b.cache[key]; ok {
		if err := b.adopt(ctx, st, id); err == nil {
			return true, nil
		}
		logrus.Debugf("cached image %s of step %q is unusable: running the step", shortID(id), instructionText(c))
	}
	if plan.needsImage {
		if err := b.ensureImage(st); err != nil {
			return false, err
		}
	}
	cfg, ext := cloneConfig(st.cfg), st.docker
	ext.OnBuild, ext.Shell = slices.Clone(ext.OnBuild), slices.Clone(ext.Shell)
	if plan.apply != nil {
		if err := plan.apply(cfg, &ext); err != nil {
			return false, err
		}
	}
	now := time.Now().UTC()
	cfg.Created = &now
	cfg.History = append(cfg.History, imgspecv1.History{Created: &now, CreatedBy: plan.createdBy, EmptyLayer: plan.layer == nil})
	meta := buildMeta{Parent: st.image}
	if b.opts.Layers && !b.opts.Squash {
		meta.Key = key
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return false, err
	}
	ni := newImage{Config: cfg, Docker: ext, Format: b.opts.Format, Created: now, Metadata: string(metaJSON)}
	var id string
	if plan.layer != nil {
		id, err = plan.layer(ctx, ni)
	} else {
		id, err = b.e.createImage(st.top, ni)
	}
	if err != nil {
		return false, err
	}
	b.created = append(b.created, id)
	if meta.Key != "" && b.cache != nil {
		b.cache[key] = id
	}
	img, err := b.e.store.Image(id)
	if err != nil {
		return false, fmt.Errorf("image %s: %w", id, err)
	}
	st.image, st.top, st.cfg, st.docker = id, img.TopLayer, cfg, ext
	return false, nil
}

// adopt moves the stage to a cached step's image.
func (b *builder) adopt(ctx context.Context, st *stage, id string) error {
	img, err := b.e.store.Image(id)
	if err != nil {
		return err
	}
	if img.TopLayer != "" {
		if _, err := b.e.store.Layer(img.TopLayer); err != nil {
			return err
		}
	}
	cfg, ext, err := b.e.readBuildConfig(ctx, img)
	if err != nil {
		return err
	}
	st.image, st.top, st.cfg, st.docker = img.ID, img.TopLayer, cfg, ext
	return nil
}

// nop is the history text of an instruction that runs nothing.
func nop(text string) string { return "/bin/sh -c #(nop) " + text }

// plan works out an instruction. ARG, CMD and ENTRYPOINT update the
// stage's in-memory state here, as they must on a cache hit too.
func (b *builder) plan(ctx context.Context, st *stage, c instructions.Command) (*stepPlan, error) {
	text := instructionText(c)
	p := &stepPlan{createdBy: nop(text)}
	shell := st.docker.Shell
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	command := func(cl instructions.ShellDependantCmdLine) []string { return build.Command(cl, shell) }
	switch c := c.(type) {
	case *instructions.ArgCommand:
		for _, kv := range c.Args {
			if err := b.declare(st.args, kv, st.env()); err != nil {
				return nil, err
			}
		}
	case *instructions.EnvCommand:
		p.apply = func(cfg *imageConfig, _ *dockerspec.DockerOCIImageConfigExt) error {
			for _, kv := range c.Env {
				cfg.Config.Env = setEnv(cfg.Config.Env, kv.Key, kv.Value)
			}
			return nil
		}
	case *instructions.LabelCommand:
		p.apply = func(cfg *imageConfig, _ *dockerspec.DockerOCIImageConfigExt) error {
			for _, kv := range c.Labels {
				setLabel(cfg, kv.Key, kv.Value)
			}
			return nil
		}
	case *instructions.MaintainerCommand:
		// Deprecated: Docker records it as the author; it is also kept
		// as the label its documentation recommends instead.
		p.apply = func(cfg *imageConfig, _ *dockerspec.DockerOCIImageConfigExt) error {
			cfg.Author = c.Maintainer
			setLabel(cfg, "maintainer", c.Maintainer)
			return nil
		}
	case *instructions.ExposeCommand:
		var ports []string
		for _, w := range c.Ports {
			words, err := b.x.Words(w, st.env())
			if err != nil {
				return nil, err
			}
			for _, word := range words {
				ps, err := parsePorts(word)
				if err != nil {
					return nil, fmt.Errorf("%w: %w", err, define.ErrInvalidArg)
				}
				ports = append(ports, ps...)
			}
		}
		p.apply = func(cfg *imageConfig, _ *dockerspec.DockerOCIImageConfigExt) error {
			if cfg.Config.ExposedPorts == nil {
				cfg.Config.ExposedPorts = map[string]struct{}{}
			}
			for _, port := range ports {
				cfg.Config.ExposedPorts[port] = struct{}{}
			}
			return nil
		}
	case *instructions.UserCommand:
		p.apply = func(cfg *imageConfig, _ *dockerspec.DockerOCIImageConfigExt) error {
			cfg.Config.User = c.User
			return nil
		}
	case *instructions.VolumeCommand:
		p.apply = func(cfg *imageConfig, _ *dockerspec.DockerOCIImageConfigExt) error {
			for _, v := range c.Volumes {
				if v == "" {
					return fmt.Errorf("VOLUME path is empty: %w", define.ErrInvalidArg)
				}
				if cfg.Config.Volumes == nil {
					cfg.Config.Volumes = map[string]struct{}{}
				}
				cfg.Config.Volumes[v] = struct{}{}
			}
			return nil
		}
	case *instructions.StopSignalCommand:
		sig, err := parseSignal(c.Signal)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", err, define.ErrInvalidArg)
		}
		p.apply = func(cfg *imageConfig, _ *dockerspec.DockerOCIImageConfigExt) error {
			cfg.Config.StopSignal = sig
			return nil
		}
	case *instructions.CmdCommand:
		st.cmdSet = true
		argv := command(c.ShellDependantCmdLine)
		p.apply = func(cfg *imageConfig, _ *dockerspec.DockerOCIImageConfigExt) error {
			cfg.Config.Cmd = argv
			return nil
		}
	case *instructions.EntrypointCommand:
		argv, keepCmd := command(c.ShellDependantCmdLine), st.cmdSet
		p.apply = func(cfg *imageConfig, _ *dockerspec.DockerOCIImageConfigExt) error {
			cfg.Config.Entrypoint = argv
			if !keepCmd {
				cfg.Config.Cmd = nil // an inherited CMD does not suit a new ENTRYPOINT
			}
			return nil
		}
	case *instructions.HealthCheckCommand:
		p.apply = func(_ *imageConfig, ext *dockerspec.DockerOCIImageConfigExt) error {
			ext.Healthcheck = c.Health
			return nil
		}
	case *instructions.ShellCommand:
		p.apply = func(_ *imageConfig, ext *dockerspec.DockerOCIImageConfigExt) error {
			ext.Shell = slices.Clone(c.Shell)
			return nil
		}
	case *instructions.OnbuildCommand:
		p.apply = func(_ *imageConfig, ext *dockerspec.DockerOCIImageConfigExt) error {
			ext.OnBuild = append(ext.OnBuild, c.Expression)
			return nil
		}
	case *instructions.WorkdirCommand:
		dir := c.Path
		if !path.IsAbs(dir) {
			dir = path.Join("/", st.cfg.Config.WorkingDir, dir)
		}
		dir = path.Clean(dir)
		p.apply = func(cfg *imageConfig, _ *dockerspec.DockerOCIImageConfigExt) error {
			cfg.Config.WorkingDir = dir
			return nil
		}
		p.layer = func(ctx context.Context, ni newImage) (string, error) {
			return b.workdir(st, dir, ni)
		}
	case *instructions.RunCommand:
		return b.planRun(st, c, command(c.ShellDependantCmdLine))
	case *instructions.CopyCommand:
		if c.Parents || len(c.ExcludePatterns) > 0 {
			return nil, fmt.Errorf("COPY --parents and --exclude: %w", define.ErrNotImplemented)
		}
		return b.planCopy(ctx, st, c.SourcesAndDest, c.From, c.Chown, c.Chmod, false, "COPY")
	case *instructions.AddCommand:
		if len(c.ExcludePatterns) > 0 || c.Checksum != "" || c.KeepGitDir != nil || c.Unpack != nil {
			return nil, fmt.Errorf("ADD --exclude, --checksum, --keep-git-dir and --unpack: %w", define.ErrNotImplemented)
		}
		return b.planCopy(ctx, st, c.SourcesAndDest, "", c.Chown, c.Chmod, true, "ADD")
	default:
		return nil, fmt.Errorf("%s is not supported: %w", strings.ToUpper(c.Name()), define.ErrNotImplemented)
	}
	return p, nil
}

func setLabel(cfg *imageConfig, k, v string) {
	if cfg.Config.Labels == nil {
		cfg.Config.Labels = map[string]string{}
	}
	cfg.Config.Labels[k] = v
}

// workdir records a WORKDIR step: with a layer holding the directory when
// the image lacks it, else as a config change only.
func (b *builder) workdir(st *stage, dir string, ni newImage) (string, error) {
	root := ""
	if st.image != "" {
		var err error
		if root, err = b.mount(st.image); err != nil {
			return "", err
		}
		if fi, err := os.Stat(filepath.Join(root, dir)); err == nil && fi.IsDir() {
			ni.Config.History[len(ni.Config.History)-1].EmptyLayer = true
			return b.e.createImage(st.top, ni)
		}
	}
	return b.tarLayer(st.top, ni, func(w io.Writer) error { return build.WriteDirLayer(w, root, dir) })
}

// tarLayer records an image whose new layer write produces.
func (b *builder) tarLayer(parent string, ni newImage, write func(io.Writer) error) (string, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	id, err := b.e.layerImage(parent, pr, ni)
	pr.CloseWithError(errors.New("layer not needed"))
	return id, err
}

// mount mounts an image read-only for the rest of the build.
func (b *builder) mount(id string) (string, error) {
	if m, ok := b.mounts[id]; ok {
		return m, nil
	}
	m, err := b.e.store.MountImage(id, nil, "")
	if err != nil {
		return "", fmt.Errorf("mount image %s: %w", shortID(id), err)
	}
	b.mounts[id] = m
	return m, nil
}

func (b *builder) unmountAll() {
	for id := range b.mounts {
		if _, err := b.e.store.UnmountImage(id, false); err != nil {
			logrus.Warnf("unmount image %s: %v", shortID(id), err)
		}
	}
}

// planRun works out a RUN: a container from the stage's image runs argv
// with the stage's environment, user and working directory, and its
// changes become the step's layer.
func (b *builder) planRun(st *stage, c *instructions.RunCommand, argv []string) (*stepPlan, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("RUN needs a command: %w", define.ErrInvalidArg)
	}
	mounts, err := b.runMounts(instructions.GetMounts(c))
	if err != nil {
		return nil, err
	}
	network := b.opts.Network
	if n := instructions.GetNetwork(c); n != instructions.NetworkDefault {
		network = n
	}
	return &stepPlan{
		createdBy:  strings.Join(argv, " "),
		needsImage: true,
		layer: func(ctx context.Context, ni newImage) (string, error) {
			return b.run(ctx, st, argv, network, mounts, ni)
		},
	}, nil
}

// runMounts turns RUN --mount options into the container's mounts:
// secrets (read-only, from --secret), tmpfs, caches kept in the store
// across builds, and read-only binds from the context.
func (b *builder) runMounts(ms []*instructions.Mount) ([]specgen.Mount, error) {
	var out []specgen.Mount
	for _, m := range ms {
		switch m.Type {
		case instructions.MountTypeSecret:
			id := firstNonEmpty(m.CacheID, path.Base(firstNonEmpty(m.Source, m.Target)))
			src, ok := b.opts.Secrets[id]
			if !ok {
				if m.Required {
					return nil, fmt.Errorf("secret %q is required: pass --secret id=%s,src=FILE: %w", id, id, define.ErrInvalidArg)
				}
				continue
			}
			out = append(out, specgen.Mount{Type: "bind", Source: src, Destination: firstNonEmpty(m.Target, "/run/secrets/"+id), Options: []string{"ro"}})
		case instructions.MountTypeTmpfs:
			opts := []string{}
			if m.SizeLimit > 0 {
				opts = append(opts, fmt.Sprintf("size=%d", m.SizeLimit))
			}
			out = append(out, specgen.Mount{Type: "tmpfs", Destination: m.Target, Options: opts})
		case instructions.MountTypeCache:
			id := firstNonEmpty(m.CacheID, m.Target)
			dir := filepath.Join(b.e.store.GraphRoot(), "engine-build-cache", build.CacheKey("", id, nil))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("cache mount %s: %w", id, err)
			}
			out = append(out, specgen.Mount{Type: "bind", Source: dir, Destination: m.Target})
		case instructions.MountTypeBind:
			if m.From != "" || b.context == nil {
				return nil, fmt.Errorf("RUN --mount=type=bind: only the build context can be mounted (no from=): %w", define.ErrNotImplemented)
			}
			sel, err := b.context.Select([]string{firstNonEmpty(m.Source, ".")})
			if err != nil {
				return nil, fmt.Errorf("RUN --mount=type=bind,source=%s: %w", m.Source, err)
			}
			out = append(out, specgen.Mount{Type: "bind", Source: sel.Path(0), Destination: m.Target, Options: []string{"ro"}})
		default:
			return nil, fmt.Errorf("RUN --mount=type=%s: %w", m.Type, define.ErrNotImplemented)
		}
	}
	return out, nil
}

// runEnv is RUN's environment beyond the image's: the stage's config's
// (which has --env before the stage's first step is an image), the ARGs in
// scope (the config's ENV wins) and the proxy arguments given.
func (b *builder) runEnv(st *stage) map[string]string {
	env := map[string]string{}
	for _, kv := range st.cfg.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	have := build.EnvKeys(st.cfg.Config.Env)
	for _, kv := range st.args.Env() {
		k, v, _ := strings.Cut(kv, "=")
		if !slices.Contains(have, k) {
			env[k] = v
		}
	}
	for _, k := range build.ProxyArgs {
		if v, ok := b.opts.BuildArgs[k]; ok {
			b.used[k] = true
			env[k] = v
		}
	}
	return env
}

// run runs a RUN step's container and commits its changes. The container
// is removed whatever happens.
func (b *builder) run(ctx context.Context, st *stage, argv []string, network string, mounts []specgen.Mount, ni newImage) (string, error) {
	s := &specgen.SpecGenerator{
		ImageID:    st.image,
		Command:    argv,
		Entrypoint: &[]string{},
		Env:        b.runEnv(st),
		LogDriver:  monitor.LogDriverNone,
		Mounts:     append(slices.Clone(b.opts.Mounts), mounts...),
		GroupAdd:   b.opts.GroupAdd,
		DNSServers: b.opts.DNSServers, DNSSearch: b.opts.DNSSearch, DNSOptions: b.opts.DNSOptions,
	}
	s.Namespaces.Network = network
	created, err := b.e.ContainerCreate(ctx, s, ContainerCreateOptions{})
	if err != nil {
		return "", err
	}
	defer func() {
		if _, err := b.e.ContainerRemove(context.WithoutCancel(ctx), []string{created.ID}, ContainerRemoveOptions{Force: true, Volumes: true}); err != nil {
			logrus.Warnf("remove build container %s: %v", created.Name, err)
		}
	}()
	stdout, stderr := b.opts.Out, b.opts.Err
	var tail *tailBuffer
	if b.opts.Quiet {
		tail = &tailBuffer{max: 4096}
		stdout, stderr = tail, tail
	}
	reps, err := b.e.ContainerStart(ctx, []string{created.ID}, ContainerStartOptions{
		Attach: true, Streams: monitor.AttachStreams{Stdout: stdout, Stderr: stderr},
	})
	if err == nil {
		err = reps[0].Err
	}
	if err != nil {
		return "", err
	}
	if code := reps[0].ExitCode; code != 0 {
		msg := fmt.Sprintf("exit status %d", code)
		if tail != nil && tail.Len() > 0 {
			msg = fmt.Sprintf("%s; its output ended with:\n%s", msg, strings.TrimRight(tail.String(), "\n"))
		}
		return "", &define.ExitError{Code: code, Err: errors.New(msg)}
	}
	sc, err := b.e.store.Container(created.ID)
	if err != nil {
		return "", fmt.Errorf("container %s: %w", created.Name, err)
	}
	if err := b.removeMountpoints(st, sc.ID, s.Mounts); err != nil {
		return "", err
	}
	return b.e.commitLayer(sc.LayerID, st.top, ni)
}

// removeMountpoints deletes from a finished RUN container what the
// runtime created only to mount something on (/proc, /etc/hosts, a
// secret's file...), and the directories made for it, when the image did
// not have them: they are no change of the step's.
func (b *builder) removeMountpoints(st *stage, ctrID string, mounts []specgen.Mount) error {
	paths := slices.Collect(maps.Keys(runtimeInodes))
	for _, m := range mounts {
		paths = append(paths, path.Clean(m.Destination))
	}
	slices.SortFunc(paths, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	imageRoot, err := b.mount(st.image)
	if err != nil {
		return err
	}
	mnt, err := b.e.store.Mount(ctrID, "")
	if err != nil {
		return fmt.Errorf("mount build container: %w", err)
	}
	defer func() {
		if _, err := b.e.store.Unmount(ctrID, false); err != nil {
			logrus.Warnf("unmount build container: %v", err)
		}
	}()
	for _, p := range paths {
		for d := p; d != "/" && d != "."; d = path.Dir(d) {
			if _, err := os.Lstat(filepath.Join(imageRoot, d)); err == nil {
				break // the image has it: not the runtime's
			}
			full, err := securejoin.SecureJoin(mnt, d)
			if err != nil || os.Remove(full) != nil {
				break // missing, or a directory the step filled
			}
		}
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu sync.Mutex
	bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, _ := t.Buffer.Write(p)
	if t.Len() > t.max {
		t.Next(t.Len() - t.max)
	}
	return n, nil
}

// planCopy works out a COPY or ADD: the sources are read from the context,
// or from an earlier stage or an image with --from, and written as the
// step's layer. The cache key covers their content.
func (b *builder) planCopy(ctx context.Context, st *stage, sd instructions.SourcesAndDest, from, chown, chmod string, add bool, verb string) (*stepPlan, error) {
	tree, fromID, err := b.copyTree(ctx, st, from)
	if err != nil {
		return nil, err
	}
	for _, src := range sd.SourcePaths {
		if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") {
			return nil, fmt.Errorf("%s %s: remote sources are not supported: download the file into the context and COPY it: %w", verb, src, define.ErrNotImplemented)
		}
	}
	if len(sd.SourcePaths) == 0 && len(sd.SourceContents) == 0 {
		return nil, fmt.Errorf("%s needs a source and a destination: %w", verb, define.ErrInvalidArg)
	}
	sel, err := tree.Select(sd.SourcePaths)
	if err != nil {
		return nil, err
	}
	for _, c := range sd.SourceContents {
		sel.AddContent(c.Path, c.Data)
	}
	keepOwners := from != "" && chown == ""
	digest, err := sel.Digest(keepOwners)
	if err != nil {
		return nil, err
	}
	var mode *fs.FileMode
	if chmod != "" {
		m, err := strconv.ParseUint(chmod, 8, 32)
		if err != nil || m > 0o7777 {
			return nil, fmt.Errorf("--chmod=%s: give octal permission bits such as 0755: %w", chmod, define.ErrInvalidArg)
		}
		fm := fs.FileMode(m)
		mode = &fm
	}
	dest := sd.DestPath
	if !path.IsAbs(dest) {
		dest = path.Join("/", st.cfg.Config.WorkingDir, dest)
		if strings.HasSuffix(sd.DestPath, "/") || sd.DestPath == "." {
			dest += "/"
		}
	}
	return &stepPlan{
		extra:     []string{digest, fromID},
		createdBy: nop(fmt.Sprintf("%s sha256:%s in %s ", verb, digest, dest)),
		layer: func(ctx context.Context, ni newImage) (string, error) {
			root := ""
			if st.image != "" {
				var err error
				if root, err = b.mount(st.image); err != nil {
					return "", err
				}
			}
			var owner *build.Owner
			switch {
			case chown != "":
				o, err := resolveChown(chown, root)
				if err != nil {
					return "", err
				}
				owner = &o
			case !keepOwners:
				owner = &build.Owner{} // files from the context belong to root
			}
			return b.tarLayer(st.top, ni, func(w io.Writer) error {
				return sel.WriteLayer(w, build.Placement{Dest: dest, ImageRoot: root, Owner: owner, Mode: mode, Extract: add})
			})
		},
	}, nil
}

// copyTree is where a COPY reads: the context, or the root filesystem of
// the stage or image --from names, and that image's ID.
func (b *builder) copyTree(ctx context.Context, st *stage, from string) (*build.Tree, string, error) {
	if from == "" {
		if b.context == nil {
			return nil, "", fmt.Errorf("this build has no context to copy from: pass a context directory: %w", define.ErrInvalidArg)
		}
		return b.context, "", nil
	}
	var id string
	if j := b.file.StageIndex(from, st.index); j >= 0 {
		prev := b.stages[j]
		if prev == nil {
			return nil, "", fmt.Errorf("--from=%s: the stage was not built: %w", from, define.ErrInvalidArg)
		}
		if err := b.ensureImage(prev); err != nil {
			return nil, "", err
		}
		id = prev.image
	} else {
		if b.file.StageIndex(from, len(b.file.Stages)) >= 0 || isNumber(from) {
			return nil, "", fmt.Errorf("--from=%s: a stage can only copy from an earlier stage: %w", from, define.ErrInvalidArg)
		}
		img, err := b.image(ctx, from)
		if err != nil {
			return nil, "", fmt.Errorf("--from=%s is neither a stage nor an image: %w", from, err)
		}
		id = img.ID
	}
	root, err := b.mount(id)
	if err != nil {
		return nil, "", err
	}
	return &build.Tree{Root: root, What: "--from=" + from}, id, nil
}

// resolveChown resolves --chown=USER[:GROUP] with the image's passwd and
// group files (at root, "" for none). A user without a group gets the
// same number as group, as Docker does.
func resolveChown(spec, root string) (build.Owner, error) {
	var passwd, group []byte
	if root != "" {
		passwd, group = readContainerFile(root, "/etc/passwd"), readContainerFile(root, "/etc/group")
	}
	u, _, err := specgen.ResolveUser("--chown", spec, passwd, group)
	if err != nil {
		return build.Owner{}, err
	}
	o := build.Owner{UID: int(u.UID), GID: int(u.GID)}
	if !strings.Contains(spec, ":") {
		o.GID = o.UID
	}
	return o, nil
}

// finish makes the target stage's image the build's result: with
// --label or --annotation one more image carries them, without layers
// (or with --squash) the new layers become one; then it gets its names.
func (b *builder) finish(ctx context.Context, st *stage, names []string) (string, error) {
	if err := b.ensureImage(st); err != nil {
		return "", err
	}
	commit := "COMMIT"
	if len(b.opts.Tags) > 0 {
		commit += " " + b.opts.Tags[0]
	}
	progress(b.out, "%s\n", commit)
	id := st.image
	if len(b.opts.Labels) > 0 || len(b.opts.Annotations) > 0 || len(b.opts.Env) > 0 {
		var err error
		if id, err = b.finalize(ctx, st); err != nil {
			return "", err
		}
	}
	if !b.opts.Layers || b.opts.Squash {
		var err error
		if id, err = b.squash(st, id); err != nil {
			return "", err
		}
	}
	progress(b.out, "--> %.11s\n", id)
	if len(names) > 0 {
		if err := b.e.store.AddNames(id, names); err != nil {
			return "", fmt.Errorf("name image %s: %w", shortID(id), err)
		}
		b.e.imageEvents(ctx, "tag", id, names)
		for _, n := range names {
			progress(b.out, "Successfully tagged %s\n", n)
		}
	}
	return id, nil
}

// finalize adds --label and --annotation values in an image of their own
// on top of the last step's, cached like a step; the stage's config has
// --env, which a stage of no step has in no image yet.
func (b *builder) finalize(ctx context.Context, st *stage) (string, error) {
	var extra []string
	for _, m := range []map[string]string{b.opts.Labels, b.opts.Annotations} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			extra = append(extra, k+"="+m[k])
		}
		extra = append(extra, "|")
	}
	extra = append(extra, b.envKey()...)
	key := build.CacheKey(st.image, "build --label --annotation", nil, extra...)
	if id, ok := b.cache[key]; ok {
		if err := b.adopt(ctx, st, id); err == nil {
			return id, nil
		}
	}
	cfg := cloneConfig(st.cfg)
	now := time.Now().UTC()
	cfg.Created = &now
	for k, v := range b.opts.Labels {
		setLabel(cfg, k, v)
	}
	meta := buildMeta{Parent: st.image}
	if b.opts.Layers && !b.opts.Squash {
		meta.Key = key
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return "", err
	}
	id, err := b.e.createImage(st.top, newImage{Config: cfg, Docker: st.docker, Format: b.opts.Format, Created: now,
		Annotations: b.opts.Annotations, Metadata: string(metaJSON)})
	if err != nil {
		return "", err
	}
	b.created = append(b.created, id)
	st.image, st.cfg = id, cfg
	return id, nil
}

// squash replaces the layers the target stage added to its base by one
// and removes the images the build made on the way.
func (b *builder) squash(st *stage, id string) (string, error) {
	if st.top == st.base {
		return id, nil
	}
	uncompressed := archive.Uncompressed
	var diff io.ReadCloser
	var err error
	if st.base != "" {
		diff, err = b.e.store.Diff(st.base, st.top, &storage.DiffOptions{Compression: &uncompressed})
	} else {
		diff, err = b.wholeTree(id)
	}
	if err != nil {
		return "", fmt.Errorf("squash the new layers: %w", err)
	}
	f, err := b.e.spoolToFile(diff, "engine-squash-")
	closeQuietly(diff)
	if err != nil {
		return "", err
	}
	defer removeTemp(f)
	spooled, err := os.Open(f)
	if err != nil {
		return "", err
	}
	defer closeQuietly(spooled)
	cfg := cloneConfig(st.cfg)
	// Only the last history entry of the stage keeps a layer: the
	// squashed one.
	lastNew := -1
	for i := st.baseHistory; i < len(cfg.History); i++ {
		if !cfg.History[i].EmptyLayer {
			if lastNew >= 0 {
				cfg.History[lastNew].EmptyLayer = true
			}
			lastNew = i
		}
	}
	now := time.Now().UTC()
	cfg.Created = &now
	squashed, err := b.e.layerImage(st.base, spooled, newImage{Config: cfg, Docker: st.docker, Format: b.opts.Format, Created: now, Annotations: b.opts.Annotations})
	if err != nil {
		return "", err
	}
	b.discard()
	return squashed, nil
}

// wholeTree is a tar stream of an image's whole root filesystem, for
// squashing the layers of a stage built FROM scratch.
func (b *builder) wholeTree(id string) (io.ReadCloser, error) {
	root, err := b.mount(id)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTree(pw, root, fi, "", nil)) }()
	return pr, nil
}

// discard removes the images a build without the layer cache made on the
// way, newest first; a build with it keeps them for the next.
func (b *builder) discard() {
	if b.opts.Layers && !b.opts.Squash {
		return
	}
	b.unmountAll()
	b.mounts = map[string]string{}
	for i := len(b.created) - 1; i >= 0; i-- {
		if _, err := b.e.store.DeleteImage(b.created[i], true); err != nil && !errors.Is(err, storage.ErrImageUnknown) {
			logrus.Warnf("remove intermediate image %s: %v", shortID(b.created[i]), err)
		}
	}
	b.created = nil
}

// removeBuildParents removes, after img was removed, the step images a
// build made it from that are now of no use: without a name, a child or a
// container. It stops at the first image still in use, as podman's rmi.
func (e *Engine) removeBuildParents(ctx context.Context, img *storage.Image) []RemoveReport {
	var out []RemoveReport
	for parent := parseBuildMeta(img.Metadata).Parent; parent != ""; {
		p, err := e.store.Image(parent)
		if err != nil || len(p.Names) > 0 {
			break
		}
		snap, err := e.snapshot()
		if err != nil || snap.hasChildren(p) || snap.users[p.ID] > 0 {
			break
		}
		if _, err := e.store.DeleteImage(p.ID, true); err != nil {
			logrus.Debugf("remove build step image %s: %v", shortID(p.ID), err)
			break
		}
		e.event(ctx, "image", "remove", p.ID, p.ID, nil)
		out = append(out, RemoveReport{Deleted: p.ID})
		parent = parseBuildMeta(p.Metadata).Parent
	}
	return out
}

// envKey is what --env adds to a cache key: without it, a step right
// after FROM would find the image an earlier build without that --env made.
func (b *builder) envKey() []string {
	if len(b.opts.Env) == 0 {
		return nil
	}
	out := []string{"--env"}
	for _, k := range slices.Sorted(maps.Keys(b.opts.Env)) {
		out = append(out, k+"="+b.opts.Env[k])
	}
	return out
}

// checkBuildArch accepts --arch when it names the host's architecture
// (hostArch, in Go's terms), in Go's or the kernel's spelling: RUN steps
// of another architecture would need an emulator. Errors wrap
// define.ErrNotImplemented.
func checkBuildArch(arch, hostArch string) error {
	if arch == "" {
		return nil
	}
	kernelNames := map[string]string{"x86_64": "amd64", "aarch64": "arm64", "i386": "386", "i686": "386", "armhf": "arm", "armel": "arm"}
	if a := firstNonEmpty(kernelNames[arch], arch); a != hostArch {
		return fmt.Errorf("--arch %s: building for another architecture than the host's (%s) needs an emulator for the RUN steps, which the engine does not use:"+
			" build on a %s host, or drop --arch (in a quadlet, Arch=): %w", arch, hostArch, arch, define.ErrNotImplemented)
	}
	return nil
}
