package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newSimCmd(a *app) *cobra.Command {
	_ = a
	return &cobra.Command{
		Use:    "sim",
		Short:  "(in progress)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("sim: not built yet")
		},
	}
}
