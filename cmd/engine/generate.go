package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/systemd/generate"
	"github.com/spf13/cobra"
)

// addSystemdCommands wires the commands for running containers under
// systemd: generate systemd, healthcheck and auto-update.
func addSystemdCommands(root *cobra.Command, g *globalOptions) {
	gen := &cobra.Command{Use: "generate", Short: "Generate structured data based on containers", RunE: requireSubcommand}
	gen.AddCommand(newGenerateSystemdCommand(g))
	root.AddCommand(gen, newHealthcheckCommand(g), newAutoUpdateCommand(g))
}

func newGenerateSystemdCommand(g *globalOptions) *cobra.Command {
	var o generate.Options
	var files bool
	var format string
	var restartSec, startTimeout, stopTimeout uint
	cmd := &cobra.Command{
		Use:   "systemd [options] CONTAINER|POD",
		Short: "Generate systemd unit files for a container or a pod",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			if fl.Changed("restart-sec") {
				o.RestartSec = &restartSec
			}
			if fl.Changed("start-timeout") {
				o.StartTimeout = &startTimeout
			}
			if fl.Changed("stop-timeout") || fl.Changed("time") {
				o.StopTimeout = &stopTimeout
			}
			// As podman: --template implies --new unless --new=false.
			if o.Template && !fl.Changed("new") {
				o.New = true
			}
			if format != "" && format != "json" {
				return fmt.Errorf("--format %q: only json is supported (see --help)", format)
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				units, err := e.GenerateSystemd(cmd.Context(), args[0], o)
				if err != nil {
					return err
				}
				return printUnits(cmd, units, files, format == "json")
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.New, "new", false, "create the container when the unit starts and remove it when it stops")
	fl.BoolVarP(&o.UseName, "name", "n", false, "use the container's name instead of its ID")
	fl.BoolVarP(&files, "files", "f", false, "write the units to files in the current directory and print their paths")
	fl.StringVar(&o.RestartPolicy, "restart-policy", "on-failure", "systemd restart policy: no, on-success, on-failure, on-abnormal, on-watchdog, on-abort, always")
	fl.UintVar(&restartSec, "restart-sec", 0, "seconds systemd waits before restarting the unit (RestartSec=)")
	fl.UintVar(&startTimeout, "start-timeout", 0, "seconds systemd waits for the unit to start (TimeoutStartSec=)")
	fl.UintVar(&stopTimeout, "stop-timeout", 0, "seconds the container is given to stop before it is killed (default: its own --stop-timeout)")
	fl.UintVarP(&stopTimeout, "time", "t", 0, "alias of --stop-timeout")
	_ = fl.MarkHidden("time")
	fl.StringArrayVar(&o.After, "after", nil, "add After= to the unit (repeatable)")
	fl.StringArrayVar(&o.Wants, "wants", nil, "add Wants= to the unit (repeatable)")
	fl.StringArrayVar(&o.Requires, "requires", nil, "add Requires= to the unit (repeatable)")
	fl.StringArrayVarP(&o.Env, "env", "e", nil, "set an environment variable in the unit: KEY=VALUE (repeatable)")
	fl.StringVar(&o.ContainerPrefix, "container-prefix", "container", "prefix of the unit names of containers")
	fl.StringVar(&o.PodPrefix, "pod-prefix", "pod", "prefix of the unit names of pods")
	fl.StringVar(&o.Separator, "separator", "-", "separator between the prefix and the name or ID")
	fl.BoolVar(&o.NoHeader, "no-header", false, "leave out the header comment")
	fl.BoolVar(&o.Template, "template", false, "make a template unit (NAME@.service) whose instances each run a container (implies --new)")
	fl.StringVar(&format, "format", "", "print the units as json (name to content), or their paths with --files")
	return cmd
}

// printUnits prints the units, or with files writes each to the current
// directory and prints its path.
func printUnits(cmd *cobra.Command, units []generate.Unit, files, asJSON bool) error {
	w := cmd.OutOrStdout()
	var out any
	if files {
		dir, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("--files: %w", err)
		}
		var paths []string
		for _, u := range units {
			p := filepath.Join(dir, u.Name)
			if err := os.WriteFile(p, u.Data, 0o644); err != nil {
				return fmt.Errorf("--files: %w", err)
			}
			paths = append(paths, p)
		}
		if !asJSON {
			for _, p := range paths {
				if _, err := fmt.Fprintln(w, p); err != nil {
					return err
				}
			}
			return nil
		}
		out = paths
	} else {
		if !asJSON {
			for i, u := range units {
				if i > 0 {
					if _, err := fmt.Fprintln(w); err != nil {
						return err
					}
				}
				if _, err := w.Write(u.Data); err != nil {
					return err
				}
			}
			return nil
		}
		m := map[string]string{}
		for _, u := range units {
			m[u.Name] = string(u.Data)
		}
		out = m
	}
	b, err := json.MarshalIndent(out, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
