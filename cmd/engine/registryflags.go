package main

import (
	"fmt"
	"time"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// registryFlags are the flags every command that talks to a registry shares.
type registryFlags struct {
	tlsVerify bool
	creds     string
	authFile  string
	certDir   string
}

// addRegistryFlags adds --tls-verify, --authfile and --cert-dir, and
// --creds when withCreds is set (login takes --username instead).
func addRegistryFlags(cmd *cobra.Command, rf *registryFlags, withCreds bool) {
	f := cmd.Flags()
	f.BoolVar(&rf.tlsVerify, "tls-verify", true, "require HTTPS and verify certificates; when not given, registries.conf decides")
	f.StringVar(&rf.authFile, "authfile", "", "path of the authentication file (default: $REGISTRY_AUTH_FILE or ${XDG_RUNTIME_DIR}/containers/auth.json)")
	f.StringVar(&rf.certDir, "cert-dir", "", "use the certificates (*.crt, *.cert, *.key) in this directory to reach the registry")
	if withCreds {
		f.StringVar(&rf.creds, "creds", "", "credentials USERNAME[:PASSWORD] for the registry")
	}
}

// options turns the flags into registry options; --tls-verify counts only
// when the user passed it, so that registries.conf decides otherwise.
func (rf *registryFlags) options(cmd *cobra.Command) libengine.RegistryOptions {
	ro := libengine.RegistryOptions{Creds: rf.creds, AuthFile: rf.authFile, CertDir: rf.certDir}
	if cmd.Flags().Changed("tls-verify") {
		v := rf.tlsVerify
		ro.TLSVerify = &v
	}
	return ro
}

// retryFlags are --retry and --retry-delay of the commands that pull.
type retryFlags struct {
	retries uint
	delay   string
}

func (rf *retryFlags) add(fl *pflag.FlagSet) {
	fl.UintVar(&rf.retries, "retry", libengine.DefaultPullRetries, "times to retry a pull that failed for a network reason")
	fl.StringVar(&rf.delay, "retry-delay", "", "delay between pull retries (default: 2s, doubled at each retry)")
}

// apply sets the retry options of a pull; --retry counts only when given.
func (rf *retryFlags) apply(fl *pflag.FlagSet, opts *libengine.PullOptions) error {
	if fl.Changed("retry") {
		n := rf.retries
		opts.Retries = &n
	}
	if rf.delay != "" {
		d, err := time.ParseDuration(rf.delay)
		if err != nil || d < 0 {
			return fmt.Errorf("--retry-delay %q: use a duration such as 500ms, 5s or 1m: %w", rf.delay, define.ErrInvalidArg)
		}
		opts.RetryDelay = d
	}
	return nil
}
