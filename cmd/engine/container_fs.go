package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/engine-oss/engine/cmd/engine/internal/format"
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// newDiffCommand builds `diff` and `container diff`.
func newDiffCommand(g *globalOptions) *cobra.Command {
	var outFormat string
	cmd := &cobra.Command{
		Use:   "diff [options] CONTAINER",
		Short: "List the files a container added, changed or deleted",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outFormat != "" && outFormat != format.JSON {
				return fmt.Errorf("--format %q: only json is supported: %w", outFormat, define.ErrInvalidArg)
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				changes, err := e.ContainerDiff(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return printChanges(cmd.OutOrStdout(), changes, outFormat == format.JSON)
			})
		},
	}
	cmd.Flags().StringVar(&outFormat, "format", "", "json to print the changes as JSON")
	return cmd
}

// printChanges prints "KIND PATH" lines, or podman's JSON document.
func printChanges(w io.Writer, changes []libengine.FileChange, asJSON bool) error {
	if !asJSON {
		for _, c := range changes {
			if _, err := fmt.Fprintln(w, c.Kind, c.Path); err != nil {
				return err
			}
		}
		return nil
	}
	var doc struct {
		Changed []string `json:"changed,omitempty"`
		Added   []string `json:"added,omitempty"`
		Deleted []string `json:"deleted,omitempty"`
	}
	for _, c := range changes {
		switch c.Kind {
		case "A":
			doc.Added = append(doc.Added, c.Path)
		case "D":
			doc.Deleted = append(doc.Deleted, c.Path)
		default:
			doc.Changed = append(doc.Changed, c.Path)
		}
	}
	b, err := json.MarshalIndent(doc, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// newExportCommand builds `export` and `container export`.
func newExportCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [options] CONTAINER",
		Short: "Write a container's filesystem to a tar archive",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			w := cmd.OutOrStdout()
			if output == "" && term.IsTerminal(int(os.Stdout.Fd())) {
				return fmt.Errorf("refusing to export to terminal. Use -o flag or redirect: %w", define.ErrInvalidArg)
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				if output != "" {
					f, err := os.Create(output)
					if err != nil {
						return fmt.Errorf("--output: %w", err)
					}
					defer func() {
						if cerr := f.Close(); err == nil && cerr != nil {
							err = fmt.Errorf("--output: %w", cerr)
						}
						if err != nil {
							_ = os.Remove(output)
						}
					}()
					w = f
				}
				return e.ContainerExport(cmd.Context(), args[0], w)
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	return cmd
}

// newMountCommand builds `mount` and `container mount`.
func newMountCommand(g *globalOptions) *cobra.Command {
	var (
		outFormat  string
		noTruncate bool
	)
	cmd := &cobra.Command{
		Use:   "mount [options] [CONTAINER...]",
		Short: "Mount containers' root filesystems and print where, or list the mounted ones",
		RunE: func(cmd *cobra.Command, args []string) error {
			if outFormat != "" && outFormat != format.JSON {
				return fmt.Errorf("--format %q: only json is supported: %w", outFormat, define.ErrInvalidArg)
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				w := cmd.OutOrStdout()
				if len(args) > 0 {
					reps, err := e.ContainerMount(cmd.Context(), args)
					if err != nil {
						return err
					}
					base := make([]libengine.ContainerReport, 0, len(reps))
					for _, r := range reps {
						if r.Err == nil {
							r.RawInput = r.Path // printReports prints it
						}
						base = append(base, r.ContainerReport)
					}
					return printReports(w, base, 0)
				}
				mounted, err := e.ContainerMounts(cmd.Context())
				if err != nil {
					return err
				}
				if outFormat == format.JSON {
					if mounted == nil {
						mounted = []libengine.MountedContainer{}
					}
					return format.PrintJSON(w, mounted)
				}
				for _, m := range mounted {
					id := m.ID
					if !noTruncate {
						id = id[:12]
					}
					if _, err := fmt.Fprintf(w, "%s  %s\n", id, m.Mountpoint); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&outFormat, "format", "", "json to list the mounted containers as JSON")
	fl.BoolVar(&noTruncate, "notruncate", false, "print full container IDs")
	fl.BoolVar(&noTruncate, "no-trunc", false, "print full container IDs")
	return cmd
}

// newUnmountCommand builds `unmount` (alias umount) and `container unmount`.
func newUnmountCommand(g *globalOptions) *cobra.Command {
	var opts libengine.ContainerUnmountOptions
	cmd := &cobra.Command{
		Use:     "unmount [options] CONTAINER [CONTAINER...]",
		Aliases: []string{"umount"},
		Short:   "Unmount containers' root filesystems",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needNames(cmd, args, opts.All); err != nil {
				return err
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				reps, err := e.ContainerUnmount(cmd.Context(), args, opts)
				if err != nil {
					return err
				}
				return printReports(cmd.OutOrStdout(), reps, 0)
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&opts.All, "all", "a", false, "unmount every container a user mounted")
	fl.BoolVarP(&opts.Force, "force", "f", false, "drop every mount of the container, not one")
	return cmd
}
