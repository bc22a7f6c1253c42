package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/vigil-ids/vigil/service"
	"github.com/vigil-ids/vigil/store"
)

func newRunCmd(a *app) *cobra.Command {
	var cfgPath string
	var check bool
	cmd := &cobra.Command{
		Use:   "run [--config FILE] [--check]",
		Short: "Run the service: collectors, ingest, detections, API and web UI",
		Long: `Run starts the always-on service. Without --config it uses the defaults:
data under ./vigil-data, the API and UI on :8080, IPFIX on UDP 4739 and
NetFlow on UDP 2055. SIGTERM stops it cleanly after a checkpoint; SIGHUP
reloads the inventory, intel, GeoIP and home networks. docs/service.md
documents every key of the configuration file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := service.LoadConfig(cfgPath)
			if err != nil {
				return usageError{err}
			}
			if check {
				fmt.Fprintln(cmd.OutOrStdout(), "config OK")
				return nil
			}
			if err := firstStartHint(cmd, cfg.DataDir); err != nil {
				return err
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			svc, err := service.New(cfg, service.Deps{Logger: a.logger, Registry: reg, ConfigPath: cfgPath, Version: version})
			if err != nil {
				return err
			}
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			go func() {
				for {
					select {
					case <-hup:
						svc.Reload()
					case <-ctx.Done():
						return
					}
				}
			}()
			return svc.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "YAML configuration file (default: built-in defaults)")
	cmd.Flags().BoolVar(&check, "check", false, "validate the configuration and exit")
	return cmd
}

// firstStartHint tells how to create the first token when the store has
// no token yet: the API is useless without one.
func firstStartHint(cmd *cobra.Command, dataDir string) error {
	st, err := store.Open(filepath.Join(dataDir, store.MainFile))
	if err != nil {
		return err
	}
	defer st.Close()
	toks, err := st.Tokens(cmd.Context())
	if err != nil {
		return err
	}
	if len(toks) == 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "No API token exists yet. Create the first admin token with:\n  vigil token create --role admin --data %s\n", dataDir)
	}
	return nil
}
