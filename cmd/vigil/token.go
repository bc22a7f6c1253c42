package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-ids/vigil/store"
)

// defaultDataDir is where the service and the token command keep their
// databases unless --data says otherwise.
const defaultDataDir = "./vigil-data"

func newTokenCmd(a *app) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens in the local store",
		Long: `Manage the bearer tokens of the REST API. Tokens live in the main database
of the data directory (vigil-data/vigil.db by default), stored only as a
SHA-256 hash: the secret is printed once, by "create".

Roles: admin (everything), analyst (read alerts and settings of its
subscriptions, change alert status), reader (read only), ingest (post audit
logs). A token without --subscription sees every subscription.`,
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data", defaultDataDir, "data directory of the service")
	openStore := func() (*store.Store, error) {
		return store.Open(filepath.Join(dataDir, store.MainFile))
	}

	var role, name string
	var subs []string
	create := &cobra.Command{
		Use:   "create --role ROLE [--subscription S]... [--name NAME]",
		Short: "Create a token and print its secret, once",
		Example: `  vigil token create --role admin --name bootstrap
  vigil token create --role analyst --subscription 6f1c6c2e-... --name soc`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if role == "" {
				return usageError{fmt.Errorf("--role is required (%s)", strings.Join(store.Roles, ", "))}
			}
			s, err := openStore()
			if err != nil {
				return err
			}
			defer s.Close()
			t, secret, err := s.CreateToken(cmd.Context(), name, role, subs)
			if err != nil {
				return err
			}
			// The secret alone goes to stdout, so that scripts can capture it.
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			scope := "all subscriptions"
			if len(t.Subscriptions) > 0 {
				scope = "subscriptions " + strings.Join(t.Subscriptions, ", ")
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created token %s (role %s, %s). The secret above is shown only this once.\n", t.ID, t.Role, scope)
			return nil
		},
	}
	create.Flags().StringVar(&role, "role", "", "role: "+strings.Join(store.Roles, ", "))
	create.Flags().StringArrayVar(&subs, "subscription", nil, "subscription the token may see (repeatable; none means all)")
	create.Flags().StringVar(&name, "name", "", "a name to recognise the token by")

	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openStore()
			if err != nil {
				return err
			}
			defer s.Close()
			ts, err := s.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if ts == nil {
					ts = []store.Token{}
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(ts)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tSUBSCRIPTIONS\tCREATED\tREVOKED")
			for _, t := range ts {
				sc := "*"
				if len(t.Subscriptions) > 0 {
					sc = strings.Join(t.Subscriptions, ",")
				}
				rev := "-"
				if !t.Active() {
					rev = t.Revoked.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, tokenDash(t.Name), t.Role, sc, t.Created.Format(time.RFC3339), rev)
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token by id",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore()
			if err != nil {
				return err
			}
			defer s.Close()
			t, err := s.RevokeToken(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked token %s at %s\n", t.ID, t.Revoked.Format(time.RFC3339))
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	_ = a
	return cmd
}

func tokenDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
