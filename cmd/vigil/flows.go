package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newFlowsCmd(a *app) *cobra.Command {
	_ = a
	return &cobra.Command{
		Use:    "flows",
		Short:  "(in progress)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("flows: not built yet")
		},
	}
}
