package main

import (
	"fmt"
	"os"
	"time"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/monitor"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newLogsCommand(g *globalOptions) *cobra.Command {
	var lf logsFlags
	opts := libengine.ContainerLogsOptions{}
	cmd := &cobra.Command{
		Use:   "logs [options] CONTAINER [CONTAINER...]",
		Short: "Fetch the logs of one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := lf.apply(&opts.LogReadOptions); err != nil {
				return err
			}
			opts.Stdout, opts.Stderr = cmd.OutOrStdout(), os.Stderr
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				return e.ContainerLogs(cmd.Context(), args, opts)
			})
		},
	}
	lf.add(cmd.Flags(), &opts.LogReadOptions, "output the last N lines (-1 for all)")
	return cmd
}

// logsFlags are the flags logs and pod logs share.
type logsFlags struct {
	since, until string
}

func (lf *logsFlags) add(fl *pflag.FlagSet, opts *monitor.LogReadOptions, tailUsage string) {
	fl.BoolVarP(&opts.Follow, "follow", "f", false, "follow the log output")
	fl.IntVar(&opts.Tail, "tail", -1, tailUsage)
	fl.BoolVarP(&opts.Timestamps, "timestamps", "t", false, "show timestamps")
	fl.StringVar(&lf.since, "since", "", "show logs since TIMESTAMP (RFC 3339, Unix time, or a duration such as 10m)")
	fl.StringVar(&lf.until, "until", "", "show logs until TIMESTAMP (RFC 3339, Unix time, or a duration such as 10m)")
}

// apply sets the times --since and --until name.
func (lf *logsFlags) apply(opts *monitor.LogReadOptions) error {
	now := time.Now()
	var err error
	if opts.Since, err = parseTimeFlag("--since", lf.since, now); err != nil {
		return err
	}
	opts.Until, err = parseTimeFlag("--until", lf.until, now)
	return err
}

// parseTimeFlag accepts what podman's --since/--until accept: RFC 3339
// times, dates, Unix seconds, and durations meaning "that long ago".
func parseTimeFlag(flag, value string, now time.Time) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(value); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, value, time.Local); err == nil {
			return t, nil
		}
	}
	var sec, nsec int64
	if n, _ := fmt.Sscanf(value, "%d.%d", &sec, &nsec); n >= 1 {
		return time.Unix(sec, nsec), nil
	}
	return time.Time{}, fmt.Errorf("%s %q: use an RFC 3339 time, a Unix timestamp or a duration such as 10m: %w", flag, value, define.ErrInvalidArg)
}
