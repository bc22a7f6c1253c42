package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newDemoCmd(a *app) *cobra.Command {
	_ = a
	return &cobra.Command{
		Use:    "demo",
		Short:  "(in progress)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("demo: not built yet")
		},
	}
}
