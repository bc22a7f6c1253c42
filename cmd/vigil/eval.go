package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/eval"
)

func newEvalCmd(a *app) *cobra.Command {
	var (
		truthFile, lookFile string
		asJSON              bool
		slack               time.Duration
	)
	cmd := &cobra.Command{
		Use:   "eval --truth FILE [--json] ALERTS...",
		Short: "Score alerts against labelled incidents",
		Long: `Score alerts (JSON lines, as vigil scan writes them) against labelled
incidents (truth.jsonl, as vigil sim writes them).

An alert matches an incident when type and key agree (the resource for
network alerts, the principal for management alerts) and their times
overlap, with --slack on each side (default 1h). Prints a table per type
(expected, detected, missed, false alarms, precision, recall), the overall
figures, then each missed incident and false alarm.`,
		Example: `  vigil sim --seed 1 --out /tmp/estate
  vigil scan --inventory /tmp/estate/inventory.jsonl --intel /tmp/estate/intel/c2.csv \
    --out alerts.jsonl /tmp/estate
  vigil eval --truth /tmp/estate/truth.jsonl --lookalikes /tmp/estate/lookalikes.jsonl alerts.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if truthFile == "" {
				return usageError{errors.New("--truth is required")}
			}
			truth, err := readTruthFile(truthFile)
			if err != nil {
				return err
			}
			opts := eval.Options{Slack: slack}
			if slack == 0 {
				opts.Slack = -1
			}
			if lookFile != "" {
				if opts.LookAlikes, err = readTruthFile(lookFile); err != nil {
					return err
				}
			}
			var alerts []alert.Alert
			for _, p := range args {
				f, err := os.Open(p)
				if err != nil {
					return fmt.Errorf("eval: %w", err)
				}
				as, err := eval.ReadAlerts(f)
				f.Close()
				if err != nil {
					return fmt.Errorf("eval: %s: %w", p, err)
				}
				alerts = append(alerts, as...)
			}
			rep := eval.Score(truth, alerts, opts)
			if asJSON {
				return rep.WriteJSON(cmd.OutOrStdout())
			}
			return rep.WriteTable(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&truthFile, "truth", "", "labelled incidents, JSON lines `FILE` (truth.jsonl)")
	cmd.Flags().StringVar(&lookFile, "lookalikes", "", "benign look-alikes `FILE` (lookalikes.jsonl) to explain false alarms")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().DurationVar(&slack, "slack", eval.DefaultSlack, "tolerance on each side of an alert when matching times")
	_ = a
	return cmd
}

func readTruthFile(path string) ([]eval.Incident, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	in, err := eval.ReadTruth(f)
	if err != nil {
		return nil, fmt.Errorf("eval: %s: %w", path, err)
	}
	return in, nil
}
