package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) benchExecutorCmd() *cobra.Command {
	return &cobra.Command{Use: "executor", Short: "executor throughput (issue 3)", RunE: func(*cobra.Command, []string) error {
		return fmt.Errorf("bench executor: not built yet")
	}}
}
