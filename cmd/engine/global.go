package main

import (
	"context"
	"fmt"
	"os"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
)

// globalOptions are the persistent flags every command shares.
type globalOptions struct {
	configFile    string
	root          string
	runRoot       string
	storageDriver string
	storageOpts   []string
	logLevel      string
	tmpDir        string
	// notifySocket is systemd's NOTIFY_SOCKET, taken out of the
	// environment so that the OCI runtime, which acts on it, never sees it.
	notifySocket string
}

func (g *globalOptions) addFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&g.configFile, "config", "", "read this engine.conf instead of the system and user files")
	f.StringVar(&g.root, "root", "", "path to the image and container store")
	f.StringVar(&g.runRoot, "runroot", "", "path to the store's transient state")
	f.StringVar(&g.storageDriver, "storage-driver", "", "storage driver (overlay, vfs)")
	f.StringArrayVar(&g.storageOpts, "storage-opt", nil, "storage driver option (repeatable)")
	f.StringVar(&g.logLevel, "log-level", "warn", "log messages at or above: debug, info, warn, error, fatal, panic")
	f.StringVar(&g.tmpDir, "tmpdir", "", "directory for large temporary files")
}

// setup applies flags that act before any command runs.
func (g *globalOptions) setup() error {
	lvl, err := logrus.ParseLevel(g.logLevel)
	if err != nil {
		return fmt.Errorf("--log-level %q: must be one of debug, info, warn, error, fatal, panic", g.logLevel)
	}
	logrus.SetLevel(lvl)
	if s, ok := os.LookupEnv("NOTIFY_SOCKET"); ok {
		g.notifySocket = s
		if err := os.Unsetenv("NOTIFY_SOCKET"); err != nil {
			return fmt.Errorf("unset NOTIFY_SOCKET: %w", err)
		}
	}
	if lvl >= logrus.DebugLevel {
		// Microsecond timestamps make a slow step visible in a debug log.
		logrus.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: "15:04:05.000000"})
	}
	return nil
}

// open opens the engine for one command; the caller closes it.
func (g *globalOptions) open(ctx context.Context) (*libengine.Engine, error) {
	return libengine.Open(ctx, libengine.Options{
		ConfigFile:    g.configFile,
		Root:          g.root,
		RunRoot:       g.runRoot,
		StorageDriver: g.storageDriver,
		StorageOpts:   g.storageOpts,
		TmpDir:        g.tmpDir,
		NotifySocket:  g.notifySocket,
	})
}

// withEngine opens the engine, runs fn and closes it, keeping fn's error first.
func (g *globalOptions) withEngine(cmd *cobra.Command, fn func(*libengine.Engine) error) (err error) {
	eng, err := g.open(cmd.Context())
	if err != nil {
		return err
	}
	defer func() {
		if cerr := eng.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	return fn(eng)
}
