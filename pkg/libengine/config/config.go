// Package config owns the engine's configuration: the embedded defaults, the
// TOML files that override them, and the per-user paths derived from the
// environment. It reads files and the environment only; it opens no store.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"
	"github.com/engine-oss/engine/pkg/rootless"
)

//go:embed default.toml
var defaultTOML []byte

// SystemConfigPath is the administrator's configuration file.
const SystemConfigPath = "/etc/engine/engine.conf"

// Config is the merged configuration of one invocation.
type Config struct {
	Engine     EngineConfig     `toml:"engine"`
	Storage    StorageConfig    `toml:"storage"`
	Registries RegistriesConfig `toml:"registries"`
	Network    NetworkConfig    `toml:"network"`
}

// EngineConfig selects the OCI runtime.
type EngineConfig struct {
	Runtime       string   `toml:"runtime"`
	RuntimeSearch []string `toml:"runtime_search"`
	TmpDir        string   `toml:"tmpdir"`
}

// StorageConfig describes the image and layer store.
type StorageConfig struct {
	Driver  string   `toml:"driver"`
	Root    string   `toml:"root"`
	RunRoot string   `toml:"runroot"`
	Options []string `toml:"options"`
}

// RegistriesConfig holds engine-side registry settings; the rest comes from
// /etc/containers/registries.conf.
type RegistriesConfig struct {
	AuthFile string `toml:"authfile"`
}

// NetworkConfig names the default network and the rootless one.
type NetworkConfig struct {
	// DefaultNetwork is the name of the network containers join when none
	// is named; DefaultSubnet and DefaultInterface are its subnet and
	// bridge device.
	DefaultNetwork   string `toml:"default_network"`
	DefaultSubnet    string `toml:"default_subnet"`
	DefaultInterface string `toml:"default_interface"`
	// DefaultRootlessNetworkCmd is the rootless default mode: "pasta" or
	// "slirp4netns" (pasta falls back to slirp4netns when missing).
	DefaultRootlessNetworkCmd string `toml:"default_rootless_network_cmd"`
}

// Load returns the defaults overridden by the files in Paths(), or, when
// explicit is set, by that file alone. A missing system or user file is not
// an error; a missing explicit file is.
func Load(explicit string) (*Config, error) {
	cfg := &Config{}
	if _, err := toml.NewDecoder(bytes.NewReader(defaultTOML)).Decode(cfg); err != nil {
		return nil, fmt.Errorf("embedded default config: %w", err)
	}
	if explicit != "" {
		if _, err := toml.DecodeFile(explicit, cfg); err != nil {
			return nil, fmt.Errorf("config file %s: %w", explicit, err)
		}
		return cfg, nil
	}
	for _, p := range Paths() {
		if _, err := toml.DecodeFile(p, cfg); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("config file %s: %w (fix or remove it)", p, err)
		}
	}
	return cfg, nil
}

// Paths lists the configuration files read in order, later ones winning.
func Paths() []string {
	paths := []string{SystemConfigPath}
	if dir, err := UserConfigDir(); err == nil {
		paths = append(paths, filepath.Join(dir, "engine", "engine.conf"))
	}
	return paths
}

// Rootless reports whether the engine runs for an unprivileged user, in or
// before entering its user namespace (see package rootless).
func Rootless() bool { return rootless.Enabled() }

// UserConfigDir is $XDG_CONFIG_HOME or ~/.config.
func UserConfigDir() (string, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locate config home: %w", err)
	}
	return filepath.Join(home, ".config"), nil
}

// DataHome is $XDG_DATA_HOME or ~/.local/share.
func DataHome() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locate data home: %w", err)
	}
	return filepath.Join(home, ".local", "share"), nil
}

// RuntimeDir is $XDG_RUNTIME_DIR for rootless users, falling back to a
// private directory under /tmp when it is unset, and /run for root.
func RuntimeDir() string {
	if !Rootless() {
		return "/run"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return d
	}
	return rootless.FallbackRuntimeDir()
}

// DefaultRoot is where the engine keeps images and containers when neither
// flags nor config files say otherwise.
func DefaultRoot() (string, error) {
	if !Rootless() {
		return "/var/lib/engine/storage", nil
	}
	d, err := DataHome()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "engine", "storage"), nil
}

// DefaultRunRoot holds the engine's transient state (locks, mounts).
func DefaultRunRoot() string {
	return filepath.Join(RuntimeDir(), "engine")
}
