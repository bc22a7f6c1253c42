package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newTokenCmd(a *app) *cobra.Command {
	_ = a
	return &cobra.Command{
		Use:    "token",
		Short:  "(in progress)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("token: not built yet")
		},
	}
}
