package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/spf13/cobra"
)

// addBuildCommands wires `build` and `image build`.
func addBuildCommands(root, image *cobra.Command, g *globalOptions) {
	root.AddCommand(newBuildCommand(g))
	image.AddCommand(newBuildCommand(g))
}

// newBuildCommand builds `build` and `image build`.
func newBuildCommand(g *globalOptions) *cobra.Command {
	var (
		opts                                        libengine.BuildOptions
		rf                                          registryFlags
		retry                                       retryFlags
		buildArgs, labels, annotations, envs        []string
		arch, variant                               string
		volumes, secrets, cacheFrom, cacheTo        []string
		iidFile                                     string
		removeIntermediate, forceRemoveIntermediate bool
	)
	cmd := &cobra.Command{
		Use:   "build [options] [CONTEXT]",
		Short: "Build an image from a Containerfile",
		Long: "Build an image from the instructions of a Containerfile (or Dockerfile) and a context: " +
			"a directory, or - for a tar archive on standard input.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(cacheFrom) > 0 || len(cacheTo) > 0 {
				return fmt.Errorf("--cache-from and --cache-to: a registry cache is not supported yet; the local layer cache needs no flag: %w", define.ErrNotImplemented)
			}
			opts.ContextDir = "."
			if len(args) > 0 {
				opts.ContextDir = args[0]
			}
			opts.Registry = rf.options(cmd)
			opts.Registry.Arch, opts.Registry.Variant = arch, variant
			var pull libengine.PullOptions
			if err := retry.apply(cmd.Flags(), &pull); err != nil {
				return err
			}
			opts.Retries, opts.RetryDelay = pull.Retries, pull.RetryDelay
			opts.Stdin = cmd.InOrStdin()
			opts.Out, opts.Err = cmd.OutOrStdout(), cmd.ErrOrStderr()
			var err error
			if opts.BuildArgs, err = parseBuildArgs(buildArgs); err != nil {
				return err
			}
			if opts.Env, err = parseBuildEnv(envs); err != nil {
				return err
			}
			if opts.Labels, err = parseKeyValueFlags("--label", labels); err != nil {
				return err
			}
			if opts.Annotations, err = parseKeyValueFlags("--annotation", annotations); err != nil {
				return err
			}
			for _, v := range volumes {
				m, err := specgen.ParseMountVolumeFlag(v)
				if err != nil {
					return err
				}
				opts.Mounts = append(opts.Mounts, m)
			}
			if opts.Secrets, err = parseSecrets(secrets); err != nil {
				return err
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				rep, err := e.ImageBuild(cmd.Context(), opts)
				if err != nil {
					return err
				}
				if iidFile != "" {
					return os.WriteFile(iidFile, []byte("sha256:"+rep.ID), 0o644)
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), rep.ID)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Tags, "tag", "t", nil, "name the image (repeatable); a short name becomes localhost/NAME:latest")
	f.StringArrayVarP(&opts.Containerfiles, "file", "f", nil, "the Containerfile, or - for standard input (default: CONTEXT/Containerfile, else CONTEXT/Dockerfile)")
	f.StringArrayVar(&buildArgs, "build-arg", nil, "ARG=VALUE for an ARG instruction; ARG alone takes the value from the environment (repeatable)")
	f.StringVar(&opts.Target, "target", "", "build this stage and the stages it needs, not the last one")
	f.BoolVar(&opts.NoCache, "no-cache", false, "run every step again instead of using the layer cache")
	f.BoolVar(&opts.Layers, "layers", layersDefault(), "keep an image per step and reuse them in later builds ($BUILDAH_LAYERS=false turns it off)")
	f.StringVar(&opts.Pull, "pull", "missing", "pull FROM images: always, missing, never or newer")
	f.Lookup("pull").NoOptDefVal = "always"
	f.StringVar(&opts.Format, "format", formatDefault(), "image format: oci or docker ($BUILDAH_FORMAT)")
	f.StringArrayVar(&labels, "label", nil, "KEY=VALUE label of the image (repeatable)")
	f.StringArrayVar(&annotations, "annotation", nil, "KEY=VALUE annotation of the image's manifest (repeatable)")
	f.BoolVar(&opts.Squash, "squash", false, "put the build's new layers into one")
	f.StringVar(&iidFile, "iidfile", "", "write the image ID (sha256:ID) to this file instead of printing it")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "print only the image ID")
	f.StringVar(&opts.Network, "network", "", "network mode of RUN steps")
	f.StringArrayVarP(&volumes, "volume", "v", nil, "bind mount for RUN steps, HOST-DIR:CONTAINER-DIR[:OPTIONS] (repeatable)")
	f.StringArrayVar(&secrets, "secret", nil, "id=ID,src=FILE: a secret RUN --mount=type=secret,id=ID reads (repeatable)")
	f.StringArrayVar(&envs, "env", nil, "KEY=VALUE set in every stage after FROM and kept in the image; KEY alone takes the value from the environment (repeatable)")
	f.StringArrayVar(&opts.GroupAdd, "group-add", nil, "additional group of the user of RUN steps (repeatable)")
	f.StringArrayVar(&opts.DNSServers, "dns", nil, "name server of RUN steps (repeatable)")
	f.StringArrayVar(&opts.DNSSearch, "dns-search", nil, "DNS search domain of RUN steps (repeatable)")
	f.StringArrayVar(&opts.DNSOptions, "dns-option", nil, "DNS option of RUN steps (repeatable)")
	f.StringVar(&arch, "arch", "", "architecture of the FROM images: the host's only (no emulation)")
	f.StringVar(&variant, "variant", "", "architecture variant of the FROM images, e.g. v8")
	retry.add(f)
	f.StringArrayVar(&cacheFrom, "cache-from", nil, "not supported: the layer cache is local")
	f.StringArrayVar(&cacheTo, "cache-to", nil, "not supported: the layer cache is local")
	f.BoolVar(&removeIntermediate, "rm", true, "remove intermediate containers (always done)")
	f.BoolVar(&forceRemoveIntermediate, "force-rm", true, "remove intermediate containers of a failed build too (always done)")
	addRegistryFlags(cmd, &rf, true)
	return cmd
}

// layersDefault is podman's: on unless $BUILDAH_LAYERS says false or 0.
func layersDefault() bool {
	v := strings.ToLower(os.Getenv("BUILDAH_LAYERS"))
	return v != "false" && v != "0"
}

// formatDefault is $BUILDAH_FORMAT, else oci.
func formatDefault() string {
	if v := os.Getenv("BUILDAH_FORMAT"); v != "" {
		return strings.ToLower(v)
	}
	return libengine.FormatOCI
}

// parseBuildArgs reads --build-arg values: KEY=VALUE, or KEY for the
// value of the environment variable KEY (skipped when it is unset).
func parseBuildArgs(values []string) (map[string]string, error) {
	args := map[string]string{}
	for _, v := range values {
		k, val, ok := strings.Cut(v, "=")
		if k == "" {
			return nil, fmt.Errorf("--build-arg %q: want KEY=VALUE: %w", v, define.ErrInvalidArg)
		}
		if !ok {
			if val, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		args[k] = val
	}
	return args, nil
}

// parseBuildEnv reads --env values: KEY=VALUE, or KEY for the value of
// the environment variable KEY (skipped when it is unset), as podman.
func parseBuildEnv(values []string) (map[string]string, error) {
	env := map[string]string{}
	for _, v := range values {
		k, val, ok := strings.Cut(v, "=")
		if k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("--env %q: want KEY=VALUE or KEY: %w", v, define.ErrInvalidArg)
		}
		if !ok {
			if val, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		env[k] = val
	}
	return env, nil
}

// parseKeyValueFlags reads KEY=VALUE values of flag.
func parseKeyValueFlags(flag string, values []string) (map[string]string, error) {
	m := map[string]string{}
	for _, v := range values {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want KEY=VALUE: %w", flag, v, define.ErrInvalidArg)
		}
		m[k] = val
	}
	return m, nil
}

// parseSecrets reads --secret id=ID,src=FILE values (type=file may be
// given too).
func parseSecrets(values []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range values {
		var id, src string
		for _, field := range strings.Split(v, ",") {
			k, val, _ := strings.Cut(field, "=")
			switch k {
			case "id":
				id = val
			case "src", "source":
				src = val
			case "type":
				if val != "file" {
					return nil, fmt.Errorf("--secret %q: only type=file is supported: %w", v, define.ErrInvalidArg)
				}
			default:
				return nil, fmt.Errorf("--secret %q: unknown option %q: use id=ID,src=FILE: %w", v, k, define.ErrInvalidArg)
			}
		}
		if id == "" || src == "" {
			return nil, fmt.Errorf("--secret %q: want id=ID,src=FILE: %w", v, define.ErrInvalidArg)
		}
		out[id] = src
	}
	return out, nil
}
