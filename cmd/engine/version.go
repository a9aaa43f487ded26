package main

import (
	"fmt"
	"runtime"

	"github.com/engine-oss/engine/cmd/engine/internal/format"
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/spf13/cobra"
)

type versionReport struct {
	Client versionInfo
}

type versionInfo struct {
	APIVersion string
	Version    string
	GoVersion  string
	OsArch     string
}

func newVersionCommand() *cobra.Command {
	var fmtFlag string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the engine's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := versionReport{Client: versionInfo{
				APIVersion: libengine.Version,
				Version:    libengine.Version,
				GoVersion:  runtime.Version(),
				OsArch:     runtime.GOOS + "/" + runtime.GOARCH,
			}}
			out := cmd.OutOrStdout()
			switch fmtFlag {
			case "":
				_, err := fmt.Fprintf(out, "Version:      %s\nGo Version:   %s\nOS/Arch:      %s\n", r.Client.Version, r.Client.GoVersion, r.Client.OsArch)
				return err
			case format.JSON:
				return format.PrintJSON(out, r)
			default:
				return format.Template(out, fmtFlag, []any{r})
			}
		},
	}
	cmd.Flags().StringVarP(&fmtFlag, "format", "f", "", "format output: json or a Go template")
	return cmd
}
