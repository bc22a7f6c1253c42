package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newEvalCmd(a *app) *cobra.Command {
	_ = a
	return &cobra.Command{
		Use:    "eval",
		Short:  "(in progress)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("eval: not built yet")
		},
	}
}
