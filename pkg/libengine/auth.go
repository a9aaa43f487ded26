package libengine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/pkg/docker/config"
	"go.podman.io/image/v5/pkg/sysregistriesv2"
	"go.podman.io/image/v5/types"
)

// LoginOptions configure Login.
type LoginOptions struct {
	Username string
	Password string
	// PasswordStdin, when set, supplies the password (its first line).
	PasswordStdin io.Reader
	// AuthFile overrides $REGISTRY_AUTH_FILE and the default
	// ${XDG_RUNTIME_DIR}/containers/auth.json (/run/containers/0/auth.json
	// for root).
	AuthFile  string
	CertDir   string
	TLSVerify *bool
	// GetLogin only reports the user stored for the registry.
	GetLogin bool
	// Prompt asks the user for a missing value; nil means nobody can answer
	// and missing credentials are an error.
	Prompt func(label string, secret bool) (string, error)
}

// LoginReport says what Login did.
type LoginReport struct {
	// Registry is the key the credentials are stored under.
	Registry string
	Username string
	// AlreadyLoggedIn is set when stored credentials were valid and no new
	// ones were given.
	AlreadyLoggedIn bool
}

// LogoutOptions configure Logout.
type LogoutOptions struct {
	AuthFile string
	// All removes the credentials of every registry.
	All bool
}

// Login checks credentials against registry (a host, or a repository for
// a narrower credential) and stores them in the auth file. An empty registry
// means the first unqualified-search registry of registries.conf.
// Credentials in ~/.docker/config.json are read but never written.
//
// Errors wrap define.ErrNotAuthenticated when the registry refuses the
// credentials or, with GetLogin, when none are stored, and
// define.ErrInvalidArg for missing or contradictory input.
func (e *Engine) Login(ctx context.Context, registry string, opts LoginOptions) (LoginReport, error) {
	sys, err := e.systemContext(RegistryOptions{TLSVerify: opts.TLSVerify, AuthFile: opts.AuthFile, CertDir: opts.CertDir})
	if err != nil {
		return LoginReport{}, err
	}
	key, host, err := credentialsKey(sys, registry)
	if err != nil {
		return LoginReport{}, err
	}
	report := LoginReport{Registry: key}
	if opts.GetLogin {
		creds, err := config.GetCredentials(sys, key)
		if err != nil {
			return report, fmt.Errorf("read credentials for %s: %w", key, err)
		}
		if creds.Username == "" {
			return report, fmt.Errorf("%w to %s", define.ErrNotAuthenticated, key)
		}
		report.Username = creds.Username
		return report, nil
	}

	user, pass := opts.Username, opts.Password
	if opts.PasswordStdin != nil {
		if pass != "" {
			return report, fmt.Errorf("--password and --password-stdin are mutually exclusive: %w", define.ErrInvalidArg)
		}
		if user == "" {
			return report, fmt.Errorf("--password-stdin needs --username: %w", define.ErrInvalidArg)
		}
		line, err := bufio.NewReader(opts.PasswordStdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return report, fmt.Errorf("read password from standard input: %w", err)
		}
		pass = strings.TrimRight(line, "\r\n")
	}
	if user == "" && pass == "" {
		// Stored credentials that still work make a second login a no-op.
		if creds, err := config.GetCredentials(sys, key); err == nil && creds.Username != "" {
			if docker.CheckAuth(ctx, sys, creds.Username, creds.Password, host) == nil {
				report.Username, report.AlreadyLoggedIn = creds.Username, true
				return report, nil
			}
		}
	}
	if user == "" {
		if user, err = ask(opts.Prompt, "Username", false); err != nil {
			return report, err
		}
	}
	if pass == "" {
		if pass, err = ask(opts.Prompt, "Password", true); err != nil {
			return report, err
		}
	}
	if user == "" || pass == "" {
		return report, fmt.Errorf("login to %s: user name and password must not be empty: %w", key, define.ErrInvalidArg)
	}
	if err := docker.CheckAuth(ctx, sys, user, pass, host); err != nil {
		var unauthorized docker.ErrUnauthorizedForCredentials
		if errors.As(err, &unauthorized) {
			return report, fmt.Errorf("login to %s as %s: authentication failed: invalid user name or password: %w: %w", key, user, define.ErrNotAuthenticated, err)
		}
		return report, fmt.Errorf("login to %s: %w", key, withTLSHint(host, err))
	}
	if _, err := config.SetCredentials(sys, key, user, pass); err != nil {
		return report, fmt.Errorf("store credentials for %s: %w", key, err)
	}
	report.Username = user
	return report, nil
}

// ask prompts for a missing credential, or explains how to pass it.
func ask(prompt func(string, bool) (string, error), label string, secret bool) (string, error) {
	if prompt == nil {
		return "", fmt.Errorf("no %s given and no terminal to ask for it: pass --username and --password or --password-stdin: %w",
			strings.ToLower(label), define.ErrInvalidArg)
	}
	v, err := prompt(label, secret)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", strings.ToLower(label), err)
	}
	return strings.TrimSpace(v), nil
}

// Logout removes the stored credentials of registry, or all of them, and
// returns the key it removed (empty with All).
//
// Errors wrap define.ErrNotAuthenticated when there is nothing to remove.
func (e *Engine) Logout(_ context.Context, registry string, opts LogoutOptions) (string, error) {
	sys, err := e.systemContext(RegistryOptions{AuthFile: opts.AuthFile})
	if err != nil {
		return "", err
	}
	if opts.All {
		if registry != "" {
			return "", fmt.Errorf("--all removes every registry's credentials: name no registry: %w", define.ErrInvalidArg)
		}
		if err := config.RemoveAllAuthentication(sys); err != nil {
			return "", fmt.Errorf("remove all credentials: %w", err)
		}
		return "", nil
	}
	key, _, err := credentialsKey(sys, registry)
	if err != nil {
		return "", err
	}
	err = config.RemoveAuthentication(sys, key)
	if errors.Is(err, config.ErrNotLoggedIn) {
		if sys.AuthFilePath == "" {
			if creds, cerr := config.GetCredentials(sys, key); cerr == nil && creds.Username != "" {
				return key, fmt.Errorf("%w to %s with engine: the credentials come from docker's configuration (run docker logout %s)",
					define.ErrNotAuthenticated, key, key)
			}
		}
		return key, fmt.Errorf("%w to %s", define.ErrNotAuthenticated, key)
	}
	if err != nil {
		return key, fmt.Errorf("remove credentials for %s: %w", key, err)
	}
	return key, nil
}

// credentialsKey turns the user's registry argument (host, repository, or
// URL as `docker login` accepts) into the auth-file key and the host to
// check credentials with.
func credentialsKey(sys *types.SystemContext, registry string) (key, host string, err error) {
	if registry == "" {
		regs, err := sysregistriesv2.UnqualifiedSearchRegistries(sys)
		if err != nil {
			return "", "", fmt.Errorf("read registries.conf: %w", err)
		}
		if len(regs) == 0 {
			return "", "", fmt.Errorf("no registry given and no unqualified-search registries in registries.conf: name one: %w", define.ErrInvalidArg)
		}
		registry = regs[0]
	}
	key = strings.TrimPrefix(strings.TrimPrefix(registry, "https://"), "http://")
	key = strings.TrimSuffix(key, "/")
	key = strings.TrimSuffix(key, "/v2")
	host, _, _ = strings.Cut(key, "/")
	if host == "" || strings.ContainsAny(key, "@ ") || strings.Contains(key, "//") {
		return "", "", fmt.Errorf("registry %q: want HOST[:PORT][/REPOSITORY]: %w", registry, define.ErrInvalidArg)
	}
	return key, host, nil
}
