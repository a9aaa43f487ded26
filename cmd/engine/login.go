package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// newLoginCommand builds `login`.
func newLoginCommand(g *globalOptions) *cobra.Command {
	var (
		rf            registryFlags
		opts          libengine.LoginOptions
		passwordStdin bool
	)
	cmd := &cobra.Command{
		Use:   "login [options] [REGISTRY]",
		Short: "Check and store credentials for a registry",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ro := rf.options(cmd)
			opts.AuthFile, opts.CertDir, opts.TLSVerify = ro.AuthFile, ro.CertDir, ro.TLSVerify
			if passwordStdin {
				opts.PasswordStdin = cmd.InOrStdin()
			} else if term.IsTerminal(int(os.Stdin.Fd())) {
				opts.Prompt = terminalPrompt
			}
			registry := ""
			if len(args) == 1 {
				registry = args[0]
			}
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				r, err := eng.Login(cmd.Context(), registry, opts)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				switch {
				case opts.GetLogin:
					_, err = fmt.Fprintln(out, r.Username)
				case r.AlreadyLoggedIn:
					_, err = fmt.Fprintf(out, "Authenticating with existing credentials for %s\nExisting credentials are valid. Already logged in to %s\n", r.Registry, r.Registry)
				default:
					_, err = fmt.Fprintln(out, "Login Succeeded!")
				}
				return err
			})
		},
	}
	f := cmd.Flags()
	addRegistryFlags(cmd, &rf, false)
	f.StringVarP(&opts.Username, "username", "u", "", "user name for the registry")
	f.StringVarP(&opts.Password, "password", "p", "", "password for the registry (visible to other users: prefer --password-stdin)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	f.BoolVar(&opts.GetLogin, "get-login", false, "print the user name stored for the registry")
	return cmd
}

// terminalPrompt asks on the terminal, without echo for secrets.
func terminalPrompt(label string, secret bool) (string, error) {
	fmt.Fprintf(os.Stderr, "%s: ", label)
	if secret {
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		return string(b), err
	}
	return bufio.NewReader(os.Stdin).ReadString('\n')
}

// newLogoutCommand builds `logout`.
func newLogoutCommand(g *globalOptions) *cobra.Command {
	var opts libengine.LogoutOptions
	cmd := &cobra.Command{
		Use:   "logout [options] [REGISTRY]",
		Short: "Remove stored credentials for a registry",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			registry := ""
			if len(args) == 1 {
				registry = args[0]
			}
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				key, err := eng.Logout(cmd.Context(), registry, opts)
				if err != nil {
					return err
				}
				if opts.All {
					key = "all registries"
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), "Removed login credentials for", key)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.All, "all", "a", false, "remove the credentials of every registry")
	f.StringVar(&opts.AuthFile, "authfile", "", "path of the authentication file (default: $REGISTRY_AUTH_FILE or ${XDG_RUNTIME_DIR}/containers/auth.json)")
	return cmd
}
