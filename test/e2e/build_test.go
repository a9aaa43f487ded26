package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/engine-oss/engine/test/testimage"
)

// buildContext writes files (path -> content; a value starting with "->"
// makes a symbolic link) into a new context directory.
func buildContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// buildImage is the busybox test image, in e's store, that builds start
// FROM.
func buildImage(t *testing.T, e *Engine) string {
	t.Helper()
	ref, _ := pulledImage(t, e, "base", testimage.Options{Env: []string{testimage.DefaultPath, "FROM_BASE=yes"}})
	return ref
}

var imageID = regexp.MustCompile(`(?m)^[0-9a-f]{64}$`)

// lastID is the image ID a build printed last.
func lastID(t *testing.T, out string) string {
	t.Helper()
	ids := imageID.FindAllString(out, -1)
	if len(ids) == 0 {
		t.Fatalf("build printed no image ID:\n%s", out)
	}
	return ids[len(ids)-1]
}

func TestBuildInstructions(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	base := buildImage(t, e)
	dir := buildContext(t, map[string]string{
		"Containerfile": `ARG BASE=` + base + `
FROM $BASE
ARG WHO=nobody-said
ENV GREETING="hello $WHO" OTHER=x
RUN echo "run sees $GREETING and $WHO" && echo "$GREETING" > /greeting
COPY --chown=nobody:nobody app/ /app/
COPY --chmod=0700 tool.sh /usr/local/bin/
ADD data.tar /unpacked/
WORKDIR /work/dir
RUN pwd > /pwd-in-run
USER nobody
RUN id -u > /tmp/uid
LABEL org.example.a=1 b="two words"
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGINT
HEALTHCHECK --interval=7s CMD true
SHELL ["/bin/sh", "-c"]
MAINTAINER someone@example.com
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /greeting"]
`,
		"app/a.txt":         "a\n",
		"app/sub/b.txt":     "b\n",
		"app/ignored.log":   "should not be copied\n",
		"tool.sh":           "#!/bin/sh\necho tool\n",
		".containerignore":  "app/*.log\n",
		"not-used/huge.bin": "x",
	})
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	for _, f := range []struct{ name, body string }{{"in-tar/", ""}, {"in-tar/file", "from the archive\n"}} {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(f.name, "/") {
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(f.body))
	}
	_ = tw.Close()
	if err := os.WriteFile(filepath.Join(dir, "data.tar"), tarball.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	name := uniqueName(t)
	out := e.Must("build", "-t", name, "--build-arg", "WHO=world", "--format", "docker", dir)
	for _, want := range []string{"STEP 1/20: FROM $BASE", "STEP 4/20: RUN echo", "run sees hello world and world", "COMMIT " + name, "Successfully tagged localhost/" + name + ":latest"} {
		if !strings.Contains(out, want) {
			t.Errorf("build output lacks %q:\n%s", want, out)
		}
	}
	id := lastID(t, out)
	if rows := psAll(t, e); len(rows) != 0 {
		t.Fatalf("build left containers: %+v", rows)
	}

	// The config.
	var cfg struct {
		Author string
		Config struct {
			Env, Entrypoint, Cmd []string
			User, WorkingDir     string
			StopSignal           string
			Labels               map[string]string
			ExposedPorts         map[string]any
			Volumes              map[string]any
		}
		Architecture, Os string
		History          []struct {
			CreatedBy  string `json:"created_by"`
			EmptyLayer bool   `json:"empty_layer"`
		}
	}
	if err := json.Unmarshal([]byte(e.Must("image", "inspect", "--format", "{{json .}}", name)), &cfg); err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	if c.User != "nobody" || c.WorkingDir != "/work/dir" || c.StopSignal != "SIGINT" ||
		strings.Join(c.Entrypoint, " ") != "/bin/sh -c" || strings.Join(c.Cmd, " ") != "cat /greeting" {
		t.Errorf("config: %+v", c)
	}
	if c.Labels["org.example.a"] != "1" || c.Labels["b"] != "two words" || c.Labels["maintainer"] != "someone@example.com" || cfg.Author != "someone@example.com" {
		t.Errorf("labels %v, author %q", c.Labels, cfg.Author)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports %v", c.ExposedPorts)
	}
	if _, ok := c.ExposedPorts["53/udp"]; !ok {
		t.Errorf("exposed ports %v", c.ExposedPorts)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("volumes %v", c.Volumes)
	}
	if env := strings.Join(c.Env, " "); !strings.Contains(env, "GREETING=hello world") || !strings.Contains(env, "OTHER=x") || !strings.Contains(env, "FROM_BASE=yes") {
		t.Errorf("env %v", c.Env)
	}
	if cfg.Os != "linux" || cfg.Architecture == "" {
		t.Errorf("platform %s/%s", cfg.Os, cfg.Architecture)
	}
	var created []string
	empty := 0
	for _, h := range cfg.History {
		created = append(created, h.CreatedBy)
		if h.EmptyLayer {
			empty++
		}
	}
	if all := strings.Join(created, "\n"); !strings.Contains(all, "echo \"run sees $GREETING") || !strings.Contains(all, "#(nop) EXPOSE 8080 53/udp") || empty < 10 {
		t.Errorf("history (%d empty):\n%s", empty, all)
	}
	// The Docker-only fields, read from the config blob as saved.
	var docker struct {
		Config struct {
			Healthcheck struct {
				Test     []string
				Interval int64
			}
			Shell []string
		} `json:"config"`
	}
	if err := json.Unmarshal(savedConfig(t, e, name), &docker); err != nil {
		t.Fatal(err)
	}
	if hc := docker.Config.Healthcheck; strings.Join(hc.Test, " ") != "CMD-SHELL true" || hc.Interval != 7e9 || strings.Join(docker.Config.Shell, " ") != "/bin/sh -c" {
		t.Errorf("Docker config fields: %+v", docker.Config)
	}
	// The filesystem, as a container of the image sees it.
	got := e.Must("run", "--rm", "--entrypoint", "", "-u", "0", name, "sh", "-c",
		`stat -c '%U:%G %a %n' /app/a.txt /app/sub/b.txt /usr/local/bin/tool.sh /work/dir; cat /greeting /pwd-in-run /tmp/uid /unpacked/in-tar/file; test -e /app/ignored.log || echo ignored-not-copied; tool.sh`)
	want := "nobody:nobody 644 /app/a.txt\nnobody:nobody 644 /app/sub/b.txt\nroot:root 700 /usr/local/bin/tool.sh\nroot:root 755 /work/dir\n" +
		"hello world\n/work/dir\n65534\nfrom the archive\nignored-not-copied\ntool\n"
	if got != want {
		t.Errorf("filesystem:\n%s\nwant:\n%s", got, want)
	}
	if out := e.Must("run", "--rm", name); out != "hello world\n" {
		t.Errorf("the image runs with %q", out)
	}
	if out := e.Must("images", "--format", "{{.ID}}"); strings.Count(out, "\n") != 2 {
		t.Errorf("images lists intermediate images:\n%s", out)
	}
	if got := strings.TrimSpace(e.Must("images", "-q", "--no-trunc", "localhost/"+name)); !strings.HasSuffix(got, id) {
		t.Errorf("images -q %s = %q, want %s", name, got, id)
	}
}

// savedConfig returns an image's config blob from `save` (docker-archive).
func savedConfig(t *testing.T, e *Engine, name string) []byte {
	t.Helper()
	archive := filepath.Join(t.TempDir(), "image.tar")
	e.Must("save", "-o", archive, name)
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		if strings.HasSuffix(hdr.Name, ".json") {
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(tr)
			files[hdr.Name] = buf.Bytes()
		}
	}
	var manifest []struct{ Config string }
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json of the saved image: %v", err)
	}
	return files[manifest[0].Config]
}

func TestBuildMultiStage(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	base := buildImage(t, e)
	dir := buildContext(t, map[string]string{
		"Containerfile": `FROM ` + base + ` AS builder
ARG FLAVOUR=plain
RUN mkdir /out && echo "built $FLAVOUR" > /out/artifact
FROM builder AS tester
RUN echo tested > /out/tested
FROM scratch AS unused
COPY nothing-here /
FROM ` + base + `
COPY --from=builder /out/artifact /artifact
COPY --from=0 /out /all
CMD ["cat", "/artifact"]
`,
	})
	name := uniqueName(t)
	out := e.Must("build", "-t", name, "--build-arg", "FLAVOUR=special", dir)
	if !strings.Contains(out, "[1/4] STEP 1/3: FROM") || !strings.Contains(out, "[4/4] STEP 2/4: COPY --from=builder") {
		t.Errorf("stage prefixes missing:\n%s", out)
	}
	if strings.Contains(out, "[2/4]") || strings.Contains(out, "[3/4]") {
		t.Errorf("stages the target does not need were built:\n%s", out)
	}
	if got := e.Must("run", "--rm", name); got != "built special\n" {
		t.Errorf("final image runs with %q", got)
	}
	if got := e.Must("run", "--rm", name, "ls", "/all"); got != "artifact\n" {
		t.Errorf("COPY --from=0 copied %q", got)
	}
	out = e.Must("build", "-q", "--target", "tester", "-t", name+"-tester", dir)
	if strings.Count(out, "\n") != 1 {
		t.Errorf("-q printed more than the ID:\n%s", out)
	}
	if got := e.Must("run", "--rm", name+"-tester", "cat", "/out/tested", "/out/artifact"); got != "tested\nbuilt plain\n" {
		t.Errorf("--target tester gives %q", got)
	}
	e.MustFail(125, "build", "--target", "nosuch", dir)
}

func TestBuildCache(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	base := buildImage(t, e)
	dir := buildContext(t, map[string]string{
		"Containerfile": `FROM ` + base + `
RUN echo one > /one
COPY src/ /src/
RUN cat /src/file > /copied
ENV DONE=1
`,
		"src/file": "version 1\n",
	})
	first := e.Must("build", "-t", "cached", dir)
	if strings.Contains(first, "Using cache") {
		t.Fatalf("a first build used the cache:\n%s", first)
	}
	second := e.Must("build", "-t", "cached", dir)
	if n := strings.Count(second, "--> Using cache"); n != 4 {
		t.Errorf("second build used the cache %d times, want 4 (every step):\n%s", n, second)
	}
	if lastID(t, first) != lastID(t, second) {
		t.Errorf("the cached rebuild made another image")
	}
	if err := os.WriteFile(filepath.Join(dir, "src", "file"), []byte("version 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	third := e.Must("build", "-t", "cached", dir)
	steps := strings.Split(third, "STEP ")
	if len(steps) != 6 || !strings.Contains(steps[2], "Using cache") {
		t.Fatalf("the RUN before the changed COPY did not use the cache:\n%s", third)
	}
	for _, s := range steps[3:] {
		if strings.Contains(s, "Using cache") {
			t.Errorf("a step after the changed COPY used the cache:\n%s", third)
		}
	}
	if got := e.Must("run", "--rm", "cached", "cat", "/copied"); got != "version 2\n" {
		t.Errorf("after the change the image has %q", got)
	}
	// --no-cache runs every step again; a build argument in use changes
	// the key of the steps after its ARG.
	if out := e.Must("build", "--no-cache", "-t", "cached", dir); strings.Contains(out, "Using cache") {
		t.Errorf("--no-cache used the cache:\n%s", out)
	}
	if got := e.Must("images", "--format", "{{.Repository}}"); strings.Count(got, "<none>") != 2 {
		// The two images the tag moved away from remain, dangling.
		t.Logf("images after rebuilds:\n%s", got)
	}
}

func TestBuildPushRmiRun(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	base := buildImage(t, e)
	reg := plainRegistry(t)
	ref := reg.Addr + "/" + uniqueName(t) + ":v1"
	dir := buildContext(t, map[string]string{
		"Containerfile": "FROM " + base + "\nCOPY msg /msg\nCMD [\"cat\", \"/msg\"]\n",
		"msg":           "built and pushed\n",
	})
	e.Must("build", "-q", "-t", ref, dir)
	e.Must(append(append([]string{"push"}, registryFlags(reg)...), ref)...)
	e.Must("rmi", ref)
	if r := e.Run("image", "exists", ref); r.ExitCode != 1 {
		t.Fatalf("image exists after rmi: %+v", r)
	}
	if got := strings.Fields(e.Must("images", "-a", "-q")); len(got) != 1 {
		t.Fatalf("rmi left the build's step images: %v", got)
	}
	if out := e.Must(append(append([]string{"run", "--rm"}, registryFlags(reg)...), ref)...); out != "built and pushed\n" {
		t.Fatalf("the pulled-back image runs with %q", out)
	}
}

func TestBuildInputs(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	base := buildImage(t, e)
	secret := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	shared := t.TempDir()
	dir := buildContext(t, map[string]string{
		"Dockerfile": "FROM " + base + "\n" +
			"RUN --mount=type=secret,id=token cat /run/secrets/token > /seen-secret-length-test && wc -c < /run/secrets/token > /secret-size && rm /seen-secret-length-test\n" +
			"RUN echo from-run > /shared/written\n" +
			"COPY file /file\n",
		"file": "context file\n",
	})
	name := uniqueName(t)
	e.Must("build", "-t", name, "--secret", "id=token,src="+secret, "-v", shared+":/shared", "--iidfile", filepath.Join(shared, "iid"),
		"--label", "built.by=test", "--annotation", "org.example.note=yes", dir)
	if got := e.Must("image", "inspect", "--format", "{{.Labels}} {{.Annotations}}", name); got != "map[built.by:test] map[org.example.note:yes]\n" {
		t.Errorf("--label and --annotation: %q", got)
	}
	if got := e.Must("run", "--rm", name, "sh", "-c", "cat /secret-size; test -e /run/secrets/token || echo no-secret-in-image; test -e /shared/written || echo no-volume-in-image"); got != "6\nno-secret-in-image\nno-volume-in-image\n" {
		t.Errorf("secret and volume: %q", got)
	}
	if b, err := os.ReadFile(filepath.Join(shared, "written")); err != nil || string(b) != "from-run\n" {
		t.Errorf("the RUN did not write into the --volume: %q %v", b, err)
	}
	iid, err := os.ReadFile(filepath.Join(shared, "iid"))
	if err != nil || !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).Match(iid) {
		t.Errorf("--iidfile holds %q (%v)", iid, err)
	}

	// A context tar on standard input, and a Containerfile on standard
	// input with a context directory.
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	for name, body := range map[string]string{"Containerfile": "FROM " + base + "\nCOPY in.txt /in.txt\n", "in.txt": "from the tar\n"} {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	r := e.RunStdin(bytes.NewReader(ctxTar.Bytes()), "build", "-q", "-t", "fromtar", "-")
	if r.ExitCode != 0 {
		t.Fatalf("build from a tar on stdin: %+v", r)
	}
	if got := e.Must("run", "--rm", "fromtar", "cat", "/in.txt"); got != "from the tar\n" {
		t.Errorf("stdin context gives %q", got)
	}
	r = e.RunStdin(strings.NewReader("FROM "+base+"\nCOPY file /f\n"), "image", "build", "-q", "-f", "-", "-t", "stdinfile", dir)
	if r.ExitCode != 0 {
		t.Fatalf("build -f -: %+v", r)
	}
	if got := e.Must("run", "--rm", "stdinfile", "cat", "/f"); got != "context file\n" {
		t.Errorf("-f - gives %q", got)
	}
}

func TestBuildErrors(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	base := buildImage(t, e)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, containerfile string
		code                int
		want                []string
	}{
		{"syntax", "FROM " + base + "\nRUN true\nFROMM x\n", 125, []string{"Containerfile:3:", "unknown instruction: FROMM"}},
		{"unknown", "FROM " + base + "\nBOGUS x\n", 125, []string{"Containerfile:2:", "unknown instruction: BOGUS"}},
		{"noFrom", "RUN true\n", 125, []string{"Containerfile:1:"}},
		{"missing", "FROM " + base + "\nCOPY nosuch /x\n", 125, []string{`STEP "COPY nosuch /x"`, "not found in the build context"}},
		{"dotdot", "FROM " + base + "\nCOPY ../secret /x\n", 125, []string{"outside the build context"}},
		{"symlink", "FROM " + base + "\nCOPY escape /x\n", 125, []string{"not found in the build context"}},
		{"run", "FROM " + base + "\nRUN echo visible-output; exit 3\n", 3, []string{`STEP "RUN echo visible-output; exit 3"`, "exit status 3"}},
		{"from", "FROM " + plainRegistry(t).Addr + "/no/such:image\n", 125, []string{"no/such"}},
		{"stage", "FROM " + base + "\nCOPY --from=nostage /x /y\n", 125, []string{"--from=nostage"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := buildContext(t, map[string]string{"Containerfile": tc.containerfile, "escape": "->" + filepath.Join(outside, "secret")})
			r := e.MustFail(tc.code, "build", "--tls-verify=false", dir)
			for _, w := range tc.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.Stderr)
				}
			}
			if tc.name == "run" && !strings.Contains(r.Stdout, "visible-output") {
				t.Errorf("the failing RUN's output is not shown:\n%s", r.Stdout)
			}
		})
	}
	if rows := psAll(t, e); len(rows) != 0 {
		t.Fatalf("failed builds left containers: %+v", rows)
	}
	// A context archive whose entries climb out of it.
	var evil bytes.Buffer
	tw := tar.NewWriter(&evil)
	for _, name := range []string{"Containerfile", "../escaped"} {
		body := "FROM " + base + "\n"
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	r := e.RunStdin(bytes.NewReader(evil.Bytes()), "build", "-")
	if r.ExitCode != 125 || !strings.Contains(r.Stderr, "escapes") {
		t.Fatalf("escaping context archive: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(e.TmpDir, "escaped")); err == nil {
		t.Fatal("an archive entry was written outside the context directory")
	}
}
