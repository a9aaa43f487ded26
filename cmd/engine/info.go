package main

import (
	"fmt"
	"io"

	"github.com/engine-oss/engine/cmd/engine/internal/format"
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// newInfoCommand builds `info` (and `system info`, when a system group exists).
func newInfoCommand(g *globalOptions) *cobra.Command {
	var fmtFlag string
	cmd := &cobra.Command{
		Use:   "info [options]",
		Short: "Show the host, store, runtime and registry settings the engine uses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				r, err := eng.Info(cmd.Context())
				if err != nil {
					return err
				}
				return printInfo(cmd.OutOrStdout(), fmtFlag, r)
			})
		},
	}
	cmd.Flags().StringVarP(&fmtFlag, "format", "f", "", "format output: json or a Go template (default: YAML)")
	return cmd
}

// printInfo prints YAML as podman does, or JSON, or a template.
func printInfo(w io.Writer, fmtFlag string, r *libengine.InfoReport) error {
	switch fmtFlag {
	case "":
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("print info: %w", err)
		}
		return enc.Close()
	case format.JSON:
		return format.PrintJSON(w, r)
	}
	return format.Template(w, fmtFlag, []any{r})
}
