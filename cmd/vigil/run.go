package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newRunCmd(a *app) *cobra.Command {
	_ = a
	return &cobra.Command{
		Use:    "run",
		Short:  "(in progress)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("run: not built yet")
		},
	}
}
