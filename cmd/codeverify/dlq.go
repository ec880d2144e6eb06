package main

import (
	"github.com/codeverify/codeverify/pipeline"
	"github.com/codeverify/codeverify/streams"
	"github.com/spf13/cobra"
)

// dlq list and dlq replay: read a topic's dead letters, and put chosen ones back on the topic once
// the cause is fixed.

func (a *app) dlqCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dlq", Short: "Inspect and replay a topic's dead letters (TOPIC.dlq)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list TOPIC",
		Short: "Print TOPIC.dlq: position, stage, reason, source partition/offset, original size, truncated",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return pipeline.ListDeadLetters(cmd.Context(), a.Env, args[0], cmd.OutOrStdout())
		},
	})
	var c pipeline.DeadLetterChoice
	replay := &cobra.Command{
		Use:   "replay TOPIC (--offsets A,B,…|--all) [--reason-contains S]",
		Short: "Republish chosen dead letters' original key and value to TOPIC (truncated ones are refused)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return pipeline.ReplayDeadLetters(cmd.Context(), a.Env, args[0], c, cmd.OutOrStdout())
		},
	}
	f := replay.Flags()
	f.StringVar(&c.Offsets, "offsets", "", "dead letters to replay: OFFSET or PARTITION:OFFSET in "+streams.DLQTopic("TOPIC")+", comma-separated")
	f.BoolVar(&c.All, "all", false, "replay every dead letter (narrowed by --reason-contains)")
	f.StringVar(&c.ReasonContains, "reason-contains", "", "only dead letters whose reason contains this text")
	cmd.AddCommand(replay)
	return cmd
}
