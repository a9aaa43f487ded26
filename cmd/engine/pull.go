package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
)

// newPullCommand builds `pull` and `image pull`.
func newPullCommand(g *globalOptions) *cobra.Command {
	var (
		rf                         registryFlags
		retry                      retryFlags
		platform, osName, arch, vr string
		opts                       libengine.PullOptions
		quiet                      bool
		decryptionKeys             []string
	)
	cmd := &cobra.Command{
		Use:   "pull [options] IMAGE [IMAGE...]",
		Short: "Copy images from a registry or another transport into local storage",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(decryptionKeys) > 0 {
				// The value may hold a passphrase: it is not repeated.
				return fmt.Errorf("--decryption-key: encrypted images are not supported yet: pull an unencrypted copy of the image"+
					" (in a quadlet, drop DecryptionKey=): %w", define.ErrNotImplemented)
			}
			opts.RegistryOptions = rf.options(cmd)
			if err := retry.apply(cmd.Flags(), &opts); err != nil {
				return err
			}
			opts.OS, opts.Arch, opts.Variant = osName, arch, vr
			if platform != "" {
				if opts.OS != "" || opts.Arch != "" || opts.Variant != "" {
					return fmt.Errorf("--platform cannot be combined with --os, --arch or --variant: %w", define.ErrInvalidArg)
				}
				var err error
				if opts.OS, opts.Arch, opts.Variant, err = parsePlatform(platform); err != nil {
					return err
				}
			}
			opts.ReportWriter = os.Stderr
			if quiet {
				opts.ReportWriter = nil
			}
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				for _, name := range args {
					ids, err := eng.ImagePull(cmd.Context(), name, opts)
					if err != nil {
						return err
					}
					if err := printLines(cmd.OutOrStdout(), ids); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	addRegistryFlags(cmd, &rf, true)
	f.BoolVarP(&opts.AllTags, "all-tags", "a", false, "pull every tagged image of the repository")
	f.StringVar(&platform, "platform", "", "pull the image for this OS/ARCH[/VARIANT]")
	f.StringVar(&osName, "os", "", "pull the image for this operating system")
	f.StringVar(&arch, "arch", "", "pull the image for this architecture")
	f.StringVar(&vr, "variant", "", "pull the image for this architecture variant")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only the image IDs, no progress")
	f.StringArrayVar(&decryptionKeys, "decryption-key", nil, "KEY[:PASSPHRASE] to decrypt an encrypted image with (not supported yet)")
	retry.add(f)
	return cmd
}

// parsePlatform splits OS/ARCH[/VARIANT].
func parsePlatform(p string) (osName, arch, variant string, err error) {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return "", "", "", fmt.Errorf("--platform %q: want OS/ARCH[/VARIANT], e.g. linux/arm64/v8: %w", p, define.ErrInvalidArg)
	}
	if len(parts) == 3 {
		variant = parts[2]
	}
	return parts[0], parts[1], variant, nil
}

// printLines prints each line on its own.
func printLines(w io.Writer, lines []string) error {
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}
