package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/eval"
	"github.com/vigil-ids/vigil/scan"
	"github.com/vigil-ids/vigil/sim"
)

func newDemoCmd(a *app) *cobra.Command {
	cfg := sim.DefaultConfig()
	var (
		keep    string
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Simulate an estate, scan it, and show the alerts and their evaluation",
		Long: `Demo needs nothing but the binary. It simulates a default cloud estate
(network flows in IPFIX, pcap, Azure and AWS flow logs; Azure Activity Log,
Entra ID sign-ins, CloudTrail and GCP audit logs; an inventory, threat intel and
GeoIP databases) into a temporary folder, scans it as 'vigil scan' would, prints
the alerts as a table, then scores them against the simulator's labels.`,
		Example: "  vigil demo\n  vigil demo --seed 2 --keep /tmp/estate",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stderr := cmd.ErrOrStderr()
			out := cmd.OutOrStdout()
			dir := keep
			if dir == "" {
				tmp, err := os.MkdirTemp("", "vigil-demo-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			}
			began := time.Now()
			step := func(s string) { fmt.Fprintf(stderr, "demo: %5.1fs  %s\n", time.Since(began).Seconds(), s) }
			cfg.Management = managementStep()
			res, err := sim.Run(cmd.Context(), cfg, dir, func(s string) { step("simulate: " + s) })
			if err != nil {
				return fmt.Errorf("simulate: %w", err)
			}
			step(fmt.Sprintf("simulated %d resources, %d flow records, %d labelled incidents in %s",
				res.Resources, res.FlowRecords, len(res.Incidents), dir))

			f := scanFlags{
				inventory: filepath.Join(dir, "inventory.jsonl"),
				geoip:     filepath.Join(dir, "geo", "city.mmdb"),
				asn:       filepath.Join(dir, "geo", "asn.mmdb"),
			}
			for _, feed := range []string{"intel/c2.csv", "tor=intel/tor-exits.txt", "intel/anonymizers.csv"} {
				cat, file, ok := strings.Cut(feed, "=")
				if !ok {
					file, cat = cat, ""
				}
				p := filepath.Join(dir, file)
				if _, err := os.Stat(p); err != nil {
					continue
				}
				if cat != "" {
					p = cat + "=" + p
				}
				f.intel = append(f.intel, p)
			}
			opts, closeDeps, err := f.options(a)
			if err != nil {
				return err
			}
			defer closeDeps()
			opts.Progress = func(s string) { step("scan: " + s) }
			// Every folder of the estate holds telemetry but the GeoIP
			// databases and the feeds, which are inputs of their own.
			entries, err := os.ReadDir(dir)
			if err != nil {
				return err
			}
			var paths []string
			for _, e := range entries {
				if e.IsDir() && e.Name() != "geo" && e.Name() != "intel" {
					paths = append(paths, filepath.Join(dir, e.Name()))
				}
			}
			sr, err := scan.Run(paths, opts)
			if err != nil {
				return fmt.Errorf("scan: %w", err)
			}
			step(fmt.Sprintf("scanned %d files: %d flow records, %d audit events", sr.Summary.Files, sr.Summary.FlowRecords, sr.Summary.AuditEvents))

			truth, looks, err := readLabels(dir)
			if err != nil {
				return err
			}
			rep := eval.Score(truth, sr.Alerts, eval.Options{LookAlikes: looks})
			if jsonOut {
				if err := writeAlerts(out, sr.Alerts); err != nil {
					return err
				}
				return rep.WriteJSON(out)
			}
			fmt.Fprintf(out, "\n%d alerts\n\n", len(sr.Alerts))
			writeAlertTable(out, sr.Alerts)
			fmt.Fprintln(out)
			writeSummary(out, sr)
			fmt.Fprintln(out, "\nEvaluation against the simulator's labels")
			fmt.Fprintln(out)
			if err := rep.WriteTable(out); err != nil {
				return err
			}
			step("done")
			return nil
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&cfg.Seed, "seed", cfg.Seed, "simulation seed")
	fl.StringVar(&keep, "keep", "", "simulate into `DIR` and keep it (default: a temporary folder, removed)")
	fl.BoolVar(&jsonOut, "json", false, "print alerts as JSON lines and the evaluation as JSON")
	return cmd
}

func readLabels(dir string) (truth, looks []eval.Incident, err error) {
	read := func(name string) ([]eval.Incident, error) {
		fh, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		return eval.ReadTruth(fh)
	}
	if truth, err = read("truth.jsonl"); err != nil {
		return nil, nil, fmt.Errorf("labels: %w", err)
	}
	if looks, err = read("lookalikes.jsonl"); err != nil && !os.IsNotExist(err) {
		return nil, nil, fmt.Errorf("labels: %w", err)
	}
	return truth, looks, nil
}

// writeAlertTable prints one line per alert: severity, type, subject,
// time span and the remote addresses.
func writeAlertTable(w io.Writer, alerts []alert.Alert) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tTYPE\tSUBJECT\tSTART (UTC)\tEND\tREMOTE")
	for _, al := range alerts {
		subject := shortName(al.Resource)
		if al.Layer == alert.LayerManagement {
			subject = al.PrincipalName
			if subject == "" {
				subject = shortName(al.Principal)
			}
		}
		remote := strings.Join(al.RemoteIPs, ",")
		if len(al.RemoteIPs) > 3 {
			remote = strings.Join(al.RemoteIPs[:3], ",") + fmt.Sprintf(" +%d", len(al.RemoteIPs)-3)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", strings.ToUpper(al.Severity), al.Type, subject,
			al.Start.Format("2006-01-02 15:04"), al.End.Format("01-02 15:04"), remote)
	}
	tw.Flush()
}

// shortName keeps the last segment of a resource id.
func shortName(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 && i < len(id)-1 {
		return id[i+1:]
	}
	return id
}
