package main

import (
	"fmt"
	"os"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newVolumeExportCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [options] VOLUME",
		Short: "Write a volume's content as a tar archive",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			w := cmd.OutOrStdout()
			if output == "" {
				if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					return fmt.Errorf("refusing to write a tar archive to the terminal: use --output FILE or redirect standard output: %w", define.ErrInvalidArg)
				}
			} else {
				f, err := os.Create(output)
				if err != nil {
					return fmt.Errorf("--output: %w", err)
				}
				defer func() {
					if cerr := f.Close(); cerr != nil && err == nil {
						err = fmt.Errorf("--output: %w", cerr)
					}
					if err != nil {
						_ = os.Remove(output)
					}
				}()
				w = f
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				return e.VolumeExport(cmd.Context(), args[0], w)
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	return cmd
}

func newVolumeImportCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "import VOLUME FILE|-",
		Short: "Unpack a tar archive into a volume",
		Long:  "Unpack a tar archive (optionally compressed) into an existing volume, over its content. '-' reads standard input.",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r := cmd.InOrStdin()
			if args[1] != "-" {
				f, err := os.Open(args[1])
				if err != nil {
					return fmt.Errorf("open archive: %w", err)
				}
				defer func() { _ = f.Close() }()
				r = f
			} else if f, ok := r.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				return fmt.Errorf("refusing to read a tar archive from the terminal: name a FILE or redirect standard input: %w", define.ErrInvalidArg)
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				return e.VolumeImport(cmd.Context(), args[0], r)
			})
		},
	}
}

func newVolumeMountCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "mount VOLUME [VOLUME...]",
		Short: "Mount volumes and print where their content is",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				var reps []libengine.VolumeReport
				for _, r := range e.VolumeMount(cmd.Context(), args) {
					if r.Err == nil {
						r.Name = r.Mountpoint // printed instead of the name
					}
					reps = append(reps, libengine.VolumeReport{Name: r.Name, Err: r.Err})
				}
				return printVolumeReports(cmd.OutOrStdout(), reps)
			})
		},
	}
}

func newVolumeUnmountCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "unmount VOLUME [VOLUME...]",
		Aliases: []string{"umount"},
		Short:   "Undo a volume mount",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				return printVolumeReports(cmd.OutOrStdout(), e.VolumeUnmount(cmd.Context(), args))
			})
		},
	}
}
