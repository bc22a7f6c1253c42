package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit/auditfile"
	"github.com/vigil-ids/vigil/config"
	"github.com/vigil-ids/vigil/enrich/intel"
	"github.com/vigil-ids/vigil/enrich/inventory"
	"github.com/vigil-ids/vigil/scan"
)

// scanFlags are the inputs shared by `vigil scan` and `vigil demo`.
type scanFlags struct {
	inventory string
	intel     []string
	homeNets  []string
	state     string
	config    string
	out       string
	geoip     string
	asn       string
	quiet     bool
}

func (f *scanFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.inventory, "inventory", "", "asset inventory: JSON lines {resource,ip,from,to} or CSV resource,ip,from,to")
	fl.StringArrayVar(&f.intel, "intel", nil, "threat-intelligence feed `[CATEGORY=]FILE` (repeatable; allow=FILE is the allow-list)")
	fl.StringArrayVar(&f.homeNets, "home-net", nil, "`CIDR` of our own address space when there is no inventory (repeatable)")
	fl.StringVar(&f.state, "state", "", "`DIR` of learned state, read at start and written at the end")
	fl.StringVar(&f.config, "config", "", "YAML `FILE` with thresholds, disabled types and suppressions")
	fl.StringVar(&f.geoip, "geoip", "", "MaxMind DB `FILE` in City or Country schema")
	fl.StringVar(&f.asn, "asn", "", "MaxMind ASN DB `FILE`")
}

// options turns the flags into scan options, opening every input so that
// an unusable flag fails before any data is read.
func (f *scanFlags) options(a *app) (scan.Options, func(), error) {
	opts := scan.Options{Logger: a.logger, Detection: config.DefaultDetection()}
	closer := func() {}
	if f.config != "" {
		d, err := config.LoadDetection(f.config)
		if err != nil {
			return opts, closer, usageError{err}
		}
		opts.Detection = d
	}
	for _, c := range f.homeNets {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return opts, closer, usageError{fmt.Errorf("--home-net %q: %w", c, err)}
		}
		opts.HomeNets = append(opts.HomeNets, p.Masked())
	}
	if f.inventory != "" {
		inv, err := inventory.Load(f.inventory, opts.HomeNets)
		if err != nil {
			return opts, closer, usageError{fmt.Errorf("--inventory: %w", err)}
		}
		opts.Inventory = inv
	}
	var specs []intel.Spec
	for _, s := range f.intel {
		sp, err := intel.ParseSpec(s)
		if err != nil {
			return opts, closer, usageError{fmt.Errorf("--intel %q: %w", s, err)}
		}
		specs = append(specs, sp)
	}
	if len(specs) > 0 {
		db, err := intel.Load(specs)
		if err != nil {
			return opts, closer, usageError{fmt.Errorf("--intel: %w", err)}
		}
		opts.Intel = db
	}
	deps, c, err := scan.ManagementDeps(f.geoip, f.asn, opts.Intel, a.logger)
	if err != nil {
		return opts, closer, usageError{err}
	}
	opts.ManagementDeps = deps
	closer = c
	opts.StateDir = f.state
	return opts, closer, nil
}

func newScanCmd(a *app) *cobra.Command {
	var f scanFlags
	var printConfig bool
	cmd := &cobra.Command{
		Use:   "scan [flags] PATH...",
		Short: "Scan flow and audit-log files (or folders, recursively) for threats",
		Long: `Scan reads any mix of flow files (pcap/pcapng, IPFIX files, Azure NSG and
VNet flow logs, AWS VPC Flow Logs) and audit logs (Azure Activity Log, Entra ID
sign-ins, CloudTrail, GCP audit logs), merges them in time order, runs the network
and management detections, and writes one alert per line as JSON. A summary goes to
stderr. The exit status is 0 even when there are alerts.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if printConfig {
				return nil
			}
			return cobra.MinimumNArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if printConfig {
				return writeConfig(cmd.OutOrStdout(), f.config)
			}
			opts, closeDeps, err := f.options(a)
			if err != nil {
				return err
			}
			defer closeDeps()
			var w io.Writer = cmd.OutOrStdout()
			var outFile *os.File
			if f.out != "" && f.out != "-" {
				outFile, err = os.CreateTemp(filepath.Dir(f.out), ".tmp-"+filepath.Base(f.out))
				if err != nil {
					return usageError{fmt.Errorf("--out: %w", err)}
				}
				defer os.Remove(outFile.Name())
				w = outFile
			}
			if !f.quiet {
				opts.Progress = func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), "vigil:", s) }
			}
			res, err := scan.Run(args, opts)
			if err != nil {
				return err
			}
			bw := bufio.NewWriter(w)
			if err := writeAlerts(bw, res.Alerts); err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("write alerts: %w", err)
			}
			if outFile != nil {
				if err := outFile.Close(); err != nil {
					return fmt.Errorf("write alerts: %w", err)
				}
				if err := os.Rename(outFile.Name(), f.out); err != nil {
					return fmt.Errorf("write alerts: %w", err)
				}
			}
			writeSummary(cmd.ErrOrStderr(), res)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&f.out, "out", "", "write alerts to `FILE` instead of stdout")
	cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "no progress lines")
	cmd.Flags().BoolVar(&printConfig, "print-config", false, "print the effective detection configuration (defaults and --config) as YAML and exit")
	return cmd
}

func writeAlerts(w io.Writer, alerts []alert.Alert) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, al := range alerts {
		if err := enc.Encode(al); err != nil {
			return fmt.Errorf("write alerts: %w", err)
		}
	}
	return nil
}

// writeSummary prints the human summary: inputs, records, malformed,
// alerts by type, suppressed.
func writeSummary(w io.Writer, res scan.Result) {
	s := res.Summary
	fmt.Fprintf(w, "inputs: %d file(s): %d flow, %d audit", s.Files, s.FlowFiles, s.AuditFiles)
	if len(s.Skipped) > 0 {
		fmt.Fprintf(w, "; %d skipped (not flow or audit)", len(s.Skipped))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "records: %d flow record(s), %d audit event(s)\n", s.FlowRecords, s.AuditEvents)
	if fs := strings.TrimSpace(s.Flow.String()); fs != "" {
		fmt.Fprintln(w, indent("flows: ", fs))
	}
	if s.AuditFiles > 0 {
		fmt.Fprintln(w, indent("audit: ", auditSummary(s.Audit)))
	}
	// The detectors' summaries name their layer themselves.
	if s.FlowFiles > 0 {
		fmt.Fprintln(w, strings.TrimSpace(s.Network.String()))
	}
	if s.AuditFiles > 0 {
		fmt.Fprintln(w, strings.TrimSpace(s.Management.String()))
	}
	for name, e := range s.FileErrors {
		fmt.Fprintf(w, "error: %s: %s\n", name, e)
	}
	fmt.Fprintf(w, "alerts: %d%s\n", len(res.Alerts), byType(s.AlertsByType))
	if len(s.Suppressed) > 0 {
		n := 0
		for _, v := range s.Suppressed {
			n += v
		}
		fmt.Fprintf(w, "suppressed by rules: %d%s\n", n, byType(s.Suppressed))
	}
}

func byType[N int | uint64](m map[string]N) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func indent(prefix, text string) string {
	lines := strings.Split(text, "\n")
	for i := range lines {
		if i == 0 {
			lines[i] = prefix + lines[i]
		} else {
			lines[i] = strings.Repeat(" ", len(prefix)) + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

func auditSummary(s auditfile.Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d record(s): %d Azure Activity Log, %d Entra ID sign-in, %d CloudTrail, %d GCP audit\n",
		s.Records(), s.AzureActivity, s.EntraSignIn, s.CloudTrail, s.GCPAudit)
	fmt.Fprintf(&b, "%d event(s) after pairing %d Activity Log stage record(s); %d operation(s) without an outcome\n",
		s.Events, s.Paired, s.Unfinished)
	fmt.Fprintf(&b, "malformed: %d%s", s.MalformedTotal(), byType(s.Malformed))
	return b.String()
}

// writeConfig prints the detection configuration that a scan would use.
func writeConfig(w io.Writer, path string) error {
	cfg := config.DefaultDetection()
	if path != "" {
		var err error
		if cfg, err = config.LoadDetection(path); err != nil {
			return usageError{err}
		}
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return fmt.Errorf("print config: %w", err)
	}
	return enc.Close()
}
