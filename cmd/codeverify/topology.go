package main

import (
	"fmt"

	"github.com/codeverify/codeverify/streams"
	"github.com/spf13/cobra"
)

func (a *app) topologyCmd() *cobra.Command {
	var mermaid bool
	cmd := command("topology [--mermaid]", "Print the declared dataflow: stages (inputs with their consumer groups → outputs, tables) and topics",
		`Prints streams.DefaultTopology, the one declaration of codeverify's topics, consumer groups and
stages, after validating it (every edge's topic declared, every schema embedded). --mermaid prints it
as a Mermaid graph LR (docs/architecture.md holds it). Needs no broker.`,
		func(cmd *cobra.Command) error {
			top := streams.DefaultTopology() // validated by the root command before any command runs
			out := top.Text()
			if mermaid {
				out = top.Mermaid()
			}
			_, err := fmt.Fprint(cmd.OutOrStdout(), out)
			return err
		})
	cmd.Flags().BoolVar(&mermaid, "mermaid", false, "print a Mermaid graph LR instead of text")
	return cmd
}
