// Command codeverify wires codeverify's producers, processors, sinks and streams into one CLI.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/internal/flagrange"
	"github.com/codeverify/codeverify/internal/ops"
	"github.com/codeverify/codeverify/streams"
	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "codeverify:", err)
		os.Exit(1)
	}
}

type app struct {
	configPath string
	flags      config.Config // scratch: what the persistent flags parsed into
	*config.Env
}

func newRoot() *cobra.Command {
	a := &app{}
	root := &cobra.Command{
		Use:           "codeverify",
		Short:         "True execution labels for LLM-generated code, as a streaming dataflow over Kafka",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       ops.Version(),
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// A bad number is refused before anything runs, naming the flag and its allowed range.
			if err := flagrange.Check(cmd.Flags()); err != nil {
				return err
			}
			// Every stage starts from the declared topology: a broken edge fails here, before anything runs.
			if err := streams.DefaultTopology().Validate(); err != nil {
				return err
			}
			cfg, err := config.Load(a.configPath, os.Getenv)
			if err != nil {
				return err
			}
			config.ApplyFlags(cmd.Flags(), &cfg, &a.flags)
			log, err := ops.NewLogger(cfg.Log.Level, cfg.Log.Format, os.Stderr)
			if err != nil {
				return err
			}
			a.Env, err = config.NewEnv(cfg, log)
			return err
		},
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "YAML config file (env CODEVERIFY_CONFIG); flags and CODEVERIFY_* env override it")
	config.BindFlags(root.PersistentFlags(), &a.flags)
	root.SetVersionTemplate("{{.Version}}")
	root.AddCommand(a.brokerCmd(), a.topicsCmd(), a.topologyCmd(), a.produceCmd(), a.executeCmd(), a.sinkCmd(), a.reportCmd(), a.labelCmd(), a.demoCmd(), a.benchCmd())
	root.AddCommand(a.trainCmd(), a.modelsCmd(), a.exportCmd())
	root.AddCommand(a.rerankCmd(), a.evalCmd(), a.dlqCmd(), a.campaignCmd())
	root.AddCommand(a.generatorCmds()...)
	return root
}
