package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) benchGeneratorCmd() *cobra.Command {
	return &cobra.Command{Use: "executor", Short: "generator throughput (issue 4)", RunE: func(*cobra.Command, []string) error {
		return fmt.Errorf("bench generator: not built yet")
	}}
}
