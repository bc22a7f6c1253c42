package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-ids/vigil/sim"
)

func newSimCmd(a *app) *cobra.Command {
	cfg := sim.DefaultConfig()
	var (
		out   string
		start string
	)
	cmd := &cobra.Command{
		Use:   "sim --seed N --out DIR [--days D] [--flow-days F] [--scale S]",
		Short: "Write a simulated, labelled cloud estate",
		Long: `Write a simulated cloud estate into DIR, deterministic for each seed:

  inventory.jsonl      IP-to-resource assignments over time
  estate.json          subscriptions, resources, roles and flow sources
  intel/c2.csv         command-and-control feed (indicator,category,source,confidence)
  intel/tor-exits.txt  Tor exit list (ExitAddress format); intel/anonymizers.csv
  geo/city.mmdb        GeoIP City and ASN databases (MaxMind DB) of the simulated internet
  azure/ aws/ gcp/     Activity Log, Entra ID sign-ins, CloudTrail, GCP audit logs
  flows/ipfix/         IPFIX files (RFC 5655), sampling 1:1 and 1:10 announced in options
  flows/pcap/          pcaps of IPFIX datagrams over UDP
  flows/azure-nsg/     Azure NSG flow logs (version 2)
  flows/azure-vnet/    Azure VNet flow logs (flowLogVersion 4)
  flows/aws-vpc/       AWS VPC Flow Logs (version 2, gzipped)
  truth.jsonl          the incidents a correct detector reports
  lookalikes.jsonl     benign situations it must not report

Network flows cover the last --flow-days of the --days span; the first
seven flow days are the detectors' learning week. Management logs need
at least 70 days and are skipped for shorter spans. --scale multiplies the
estate for benchmarks. Progress goes to stderr.`,
		Example: `  vigil sim --seed 1 --out /tmp/estate
  vigil sim --seed 7 --days 90 --flow-days 21 --out /tmp/estate
  vigil sim --seed 1 --scale 20 --out /tmp/big`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{errors.New("--out is required")}
			}
			if start != "" {
				t, err := time.Parse(time.RFC3339, start)
				if err != nil {
					return usageError{fmt.Errorf("--start: %w", err)}
				}
				cfg.Start = t
			}
			cfg.Management = managementStep()
			stderr := cmd.ErrOrStderr()
			began := time.Now()
			res, err := sim.Run(cmd.Context(), cfg, out, func(step string) {
				fmt.Fprintf(stderr, "sim: %-24s %6.1fs\n", step, time.Since(began).Seconds())
			})
			if err != nil {
				if errors.Is(err, sim.ErrConfig) {
					return usageError{err}
				}
				return err
			}
			fmt.Fprintf(stderr, "sim: %d resources in %d subscriptions and 1 AWS account, %s to %s (flows from %s)\n",
				res.Resources, res.Subscriptions, res.Start.Format(time.DateOnly), res.End.Format(time.DateOnly), res.FlowStart.Format(time.DateOnly))
			for _, s := range res.Sources {
				fmt.Fprintf(stderr, "sim:   %-8s %-10s 1:%-3d %9d records\n", s.Name, s.Format, s.SamplingRate, s.Records)
			}
			secs := res.Elapsed.Seconds()
			fmt.Fprintf(stderr, "sim: %d flow records, %d incidents, %d look-alikes in %.1fs\n",
				res.FlowRecords, len(res.Incidents), len(res.LookAlikes), secs)
			return nil
		},
	}
	f := cmd.Flags()
	f.Int64Var(&cfg.Seed, "seed", cfg.Seed, "`N`: the same seed writes the same bytes")
	f.IntVar(&cfg.Days, "days", cfg.Days, "`D` days simulated (management history)")
	f.IntVar(&cfg.FlowDays, "flow-days", cfg.FlowDays, "last `F` days that carry network flows")
	f.IntVar(&cfg.Scale, "scale", cfg.Scale, "multiply the estate (resources, incidents) `S` times, for benchmarks")
	f.BoolVar(&cfg.NetworkOnly, "network-only", false, "write no management logs")
	f.StringVar(&start, "start", "", "first instant simulated, RFC 3339 `TIME` (default: derived from the seed)")
	f.StringVar(&out, "out", "", "output folder `DIR` (created)")
	_ = a
	return cmd
}

// managementStep returns the step that writes the management layer for
// vigil sim and vigil demo: sim/mgmt's audit and sign-in logs.
func managementStep() sim.ManagementStep { return sim.GenerateManagement }
