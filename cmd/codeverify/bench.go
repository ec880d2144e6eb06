package main

import "github.com/spf13/cobra"

// benchCmd groups the benchmarks that print a figure and the machine (not timed tests).
func (a *app) benchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks: each prints its figures, the machine, and a baseline measured in the same run",
	}
	cmd.AddCommand(a.benchExecutorCmd(), a.benchGeneratorCmd(), a.benchRerankerCmd())
	return cmd
}
