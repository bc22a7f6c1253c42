package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newScanCmd(a *app) *cobra.Command {
	_ = a
	return &cobra.Command{
		Use:    "scan",
		Short:  "(in progress)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("scan: not built yet")
		},
	}
}
