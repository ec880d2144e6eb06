package main

import (
	"github.com/codeverify/codeverify/pipeline"
	"github.com/codeverify/codeverify/streams"
	"github.com/spf13/cobra"
)

// The long-running services: the executor processor and the ClickHouse sink. Each serves
// /metrics, /healthz and /readyz on --metrics-addr when it is set.

func (a *app) executeCmd() *cobra.Command {
	var opt pipeline.ExecutorOptions
	cmd := command("execute", "Run the sandboxed executor processor: candidates → verdicts (consumer group "+streams.GroupExecutor+")", "",
		func(cmd *cobra.Command) error { return pipeline.RunExecutor(cmd.Context(), a.Env, opt) })
	cmd.Flags().BoolVar(&opt.LookupClickHouse, "lookup-clickhouse", false,
		"answer candidates whose program already has a (non-timeout) verdict in ClickHouse from there; the hit rate is logged")
	return cmd
}

func (a *app) sinkCmd() *cobra.Command {
	return command("sink", "Run the ClickHouse sink: verdicts and behaviors → ClickHouse (consumer groups "+streams.GroupSinkVerdicts+", "+streams.GroupSinkBehaviors+")", "",
		func(cmd *cobra.Command) error { return pipeline.RunSink(cmd.Context(), a.Env) })
}
