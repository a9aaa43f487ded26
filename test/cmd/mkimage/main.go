// Command mkimage writes a deterministic busybox test image (package
// testimage) as an OCI layout, and optionally pushes it to a registry, for
// the demo script and the benchmarks. It prints the manifest digest.
//
//	mkimage --out /tmp/img --layers 3 --pad-mb 64 --cmd "sleep 1000" \
//	        --push 127.0.0.1:5000/busybox:latest --insecure
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/engine-oss/engine/test/testimage"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		opts                        testimage.Options
		out, cmd, entrypoint, push  string
		creds, certDir              string
		padMB                       int64
		insecure                    bool
		env, labels, ports, volumes listFlag
	)
	flag.StringVar(&out, "out", "", "write the OCI layout to this directory (required)")
	flag.IntVar(&opts.Layers, "layers", 1, "number of layers: busybox plus N-1 small data layers")
	flag.Int64Var(&padMB, "pad-mb", 0, "add a layer of this many MiB of incompressible bytes")
	flag.StringVar(&cmd, "cmd", "", `image Cmd, split on spaces (default "sh")`)
	flag.StringVar(&entrypoint, "entrypoint", "", "image Entrypoint, split on spaces")
	flag.Var(&env, "env", "KEY=VALUE in the image's environment (repeatable; replaces the default PATH)")
	flag.Var(&labels, "label", "KEY=VALUE label (repeatable)")
	flag.Var(&ports, "port", `exposed port such as "80/tcp" (repeatable)`)
	flag.Var(&volumes, "volume", "volume path (repeatable)")
	flag.StringVar(&opts.WorkingDir, "workdir", "", "working directory")
	flag.StringVar(&opts.User, "user", "", "user to run as")
	flag.StringVar(&opts.StopSignal, "stop-signal", "", "stop signal")
	flag.StringVar(&opts.Arch, "arch", "", "architecture in the config (default: the host's)")
	flag.StringVar(&opts.RefName, "tag", "", "ref name in index.json, so the layout is also oci:DIR:TAG")
	flag.StringVar(&push, "push", "", "push to this reference, HOST:PORT/name:tag")
	flag.BoolVar(&insecure, "insecure", false, "push over plain HTTP or without verifying TLS")
	flag.StringVar(&creds, "creds", "", "USER:PASSWORD for the push")
	flag.StringVar(&certDir, "cert-dir", "", "directory with the registry's ca.crt")
	flag.Parse()
	if out == "" || flag.NArg() > 0 {
		flag.Usage()
		return fmt.Errorf("--out is required and no arguments are taken")
	}
	opts.PadBytes = padMB << 20
	opts.Cmd, opts.Entrypoint = fieldsOrNil(cmd), fieldsOrNil(entrypoint)
	opts.Env, opts.ExposedPorts, opts.Volumes = env, ports, volumes
	if len(labels) > 0 {
		opts.Labels = map[string]string{}
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			opts.Labels[k] = v
		}
	}

	d, err := testimage.WriteOCILayout(out, opts)
	if err != nil {
		return err
	}
	if push != "" {
		po := testimage.PushOptions{Insecure: insecure, CertDir: certDir}
		po.Username, po.Password, _ = strings.Cut(creds, ":")
		if err := testimage.Push(context.Background(), out, push, po); err != nil {
			return err
		}
	}
	fmt.Println(d)
	return nil
}

func fieldsOrNil(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}
