package main

import (
	"context"

	"github.com/codeverify/codeverify/campaign"
	"github.com/codeverify/codeverify/streams"
	"github.com/spf13/cobra"
)

// campaignCmd is continuous generation: rounds of prompts until each problem has its target, resumed
// from the topics after a restart (the logic is in campaign/).
func (a *app) campaignCmd() *cobra.Command {
	var c campaign.Config
	// NAME is checked by the campaign, after the flags: a bad number is reported first.
	cmd := &cobra.Command{
		Use:   "campaign NAME --problems FILE (--samples N | --pass K) [--max-tokens T] [--max-requests R] [--max-rounds M] [--max-duration D]",
		Short: "Generate continuously: publish rounds of prompts until every problem has N samples or K distinct PASS programs, or a budget is spent; resumable",
		Long:  campaign.Help,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.Name = firstArg(args)
			env := a.campaignEnv(cmd)
			env.Connect = func(ctx context.Context) error { return a.EnsureTopics(ctx, streams.DefaultCatalog()) }
			return campaign.Run(cmd.Context(), env, c)
		},
	}
	status := &cobra.Command{
		Use:   "status NAME [--problems FILE] [--samples N | --pass K]",
		Short: "Print a campaign's progress per problem (rounds, samples, PASS, distinct PASS, target met) and its totals, read from the topics",
		Long: `Reads the campaign's prompts, candidates, verdicts and dead letters from the topics, as a
restarted campaign does, and prints one row per problem and the totals. It takes the campaign's own
flags: with --problems the chosen problems are listed even before the campaign asked for them; with
--samples or --pass the last column says whether each problem met that target.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.Name = firstArg(args)
			env := a.campaignEnv(cmd)
			env.Connect = a.BrokersReachable
			return campaign.Status(cmd.Context(), env, c)
		},
	}
	for _, cc := range []*cobra.Command{cmd, status} {
		c.Bind(cc.Flags())
		limits(cc.Flags(), campaign.FlagRanges())
	}
	cmd.AddCommand(status)
	return cmd
}

func (a *app) campaignEnv(cmd *cobra.Command) campaign.Env {
	return campaign.Env{Cluster: a.Cluster(), Log: a.Log, Out: cmd.OutOrStdout()}
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}
