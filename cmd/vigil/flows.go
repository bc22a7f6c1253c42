package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/flowfile"
)

func newFlowsCmd(a *app) *cobra.Command {
	var (
		count   bool
		ports   []uint
		noMeter bool
	)
	cmd := &cobra.Command{
		Use:   "flows [--count] PATH...",
		Short: "Print the flow records of captures, IPFIX files and cloud flow logs as JSON lines",
		Long: `Print the normalised flow records found in each PATH as JSON lines, one
record per line, as nfdump -r does. Directories are read recursively.

The format of each file is found from its content, and gzip is removed
transparently: pcap and pcapng captures (NetFlow v5, v9 and IPFIX datagrams
are decoded; other packets are metered into flows as softflowd would),
IPFIX files (RFC 5655), Azure NSG and VNet flow logs, and AWS VPC Flow Logs.
NetFlow/IPFIX templates carry over from one file to the next, in the order
given. In a directory, files of an unknown format are skipped and counted.

With --count, print totals per input, per format and per exporter instead
of the records. Malformed input is summarised on stderr.`,
		Example: `  vigil flows capture.pcap
  vigil flows --count ../shared/data/flows/
  vigil flows vpc-flowlogs.log.gz | jq 'select(.action == "deny")'`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("flows: at least one PATH is required")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := flowfile.Options{DisableMeter: noMeter}
			for _, p := range ports {
				if p == 0 || p > 65535 {
					return usageError{fmt.Errorf("flows: --netflow-port %d is not a port", p)}
				}
				opts.Ports = append(opts.Ports, uint16(p))
			}
			return runFlows(cmd, a, args, opts, count)
		},
	}
	cmd.Flags().BoolVar(&count, "count", false, "print totals per input, format and exporter instead of records")
	cmd.Flags().UintSliceVar(&ports, "netflow-port", nil, "only try these UDP `PORTS` of a capture as NetFlow/IPFIX; without it every port is tried and NetFlow is recognised by its header")
	cmd.Flags().BoolVar(&noMeter, "no-meter", false, "do not meter raw packets of captures into flows")
	return cmd
}

// input is one file to read; named is set when the user gave it by name
// rather than through a directory, which decides whether an unknown
// format is an error or a skip.
type input struct {
	path  string
	named bool
}

func collectInputs(args []string) ([]input, error) {
	var out []input
	for _, arg := range args {
		st, err := os.Stat(arg)
		if err != nil {
			return nil, fmt.Errorf("flows: %w", err)
		}
		if !st.IsDir() {
			out = append(out, input{arg, true})
			continue
		}
		var files []string
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("flows: %w", err)
		}
		sort.Strings(files)
		for _, f := range files {
			out = append(out, input{f, false})
		}
	}
	return out, nil
}

func runFlows(cmd *cobra.Command, a *app, args []string, opts flowfile.Options, count bool) error {
	inputs, err := collectInputs(args)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(cmd.OutOrStdout(), 256<<10)
	var line []byte
	var werr error
	h := func(r *flow.Record) {
		if count || werr != nil {
			return
		}
		line = flowfile.AppendJSON(line[:0], r)
		line = append(line, '\n')
		_, werr = w.Write(line)
	}
	rd := flowfile.NewReader(opts)
	var failed []error
	unknown := 0
	for _, in := range inputs {
		if err := cmd.Context().Err(); err != nil {
			return err
		}
		err := rd.ReadFile(in.path, h)
		switch {
		case err == nil:
		case errors.Is(err, flowfile.ErrUnknownFormat) && !in.named:
			unknown++
		default:
			failed = append(failed, err)
			if len(inputs) > 1 {
				fmt.Fprintf(a.stderr, "vigil flows: %v\n", err)
			}
		}
	}
	rd.Flush(h)
	sum := rd.Summary()
	if count {
		if err := sum.Write(w); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("flows: %w", err)
	}
	if werr != nil {
		return fmt.Errorf("flows: %w", werr)
	}
	if unknown > 0 {
		fmt.Fprintf(a.stderr, "vigil flows: skipped %d file(s) of unknown format\n", unknown)
	}
	if !count {
		for _, l := range sum.ErrorSummary() {
			fmt.Fprintf(a.stderr, "vigil flows: malformed: %s\n", l)
		}
	}
	switch {
	case len(failed) == 1 && len(inputs) == 1:
		return fmt.Errorf("flows: %w", failed[0])
	case len(failed) > 0:
		return fmt.Errorf("flows: %d of %d inputs unreadable", len(failed), len(inputs))
	}
	return nil
}
