package main

import (
	"context"
	"time"

	"github.com/codeverify/codeverify/campaign"
	"github.com/codeverify/codeverify/streams"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// campaignCmd is continuous generation: rounds of prompts until each problem has its target, resumed
// from the topics after a restart (the logic is in campaign/).
func (a *app) campaignCmd() *cobra.Command {
	var c campaign.Config
	// Both commands take the campaign's flags and an optional NAME, which the campaign checks after
	// the flags: a bad number is reported first. connect checks the brokers once the campaign starts.
	named := func(use, short, long string, connect func(context.Context) error,
		run func(context.Context, campaign.Env, campaign.Config) error) *cobra.Command {
		cmd := command(use, short, long, func(cmd *cobra.Command) error {
			c.Name = cmd.Flags().Arg(0)
			env := campaign.Env{Cluster: a.Cluster(), Log: a.Log, Out: cmd.OutOrStdout(), Connect: connect}
			return run(cmd.Context(), env, c)
		})
		cmd.Args = cobra.MaximumNArgs(1)
		bindCampaign(cmd.Flags(), &c)
		return cmd
	}
	cmd := named("campaign NAME --problems FILE (--samples N | --pass K) [--max-tokens T] [--max-requests R] [--max-rounds M] [--max-duration D]",
		"Generate continuously: publish rounds of prompts until every problem has N samples or K distinct PASS programs, or a budget is spent; resumable",
		campaign.Help, func(ctx context.Context) error { return a.EnsureTopics(ctx, streams.DefaultCatalog()) }, campaign.Run)
	cmd.AddCommand(named("status NAME [--problems FILE] [--samples N | --pass K]",
		"Print a campaign's progress per problem (rounds, samples, PASS, distinct PASS, target met) and its totals, read from the topics",
		`Reads the campaign's prompts, candidates, verdicts and dead letters from the topics, as a
restarted campaign does, and prints one row per problem and the totals. It takes the campaign's own
flags: with --problems the chosen problems are listed even before the campaign asked for them; with
--samples or --pass the last column says whether each problem met that target.`,
		func(ctx context.Context) error { return a.BrokersReachable(ctx) }, campaign.Status))
	return cmd
}

// bindCampaign registers the campaign's flags on fs (the model's name is --gen-model, as elsewhere,
// without the deprecated --model alias).
func bindCampaign(fs *pflag.FlagSet, c *campaign.Config) {
	promptSampling{&c.ProblemsPath, &c.Splits, &c.Temperature, &c.TopP, &c.SampleMaxTokens}.bind(fs, "sample-max-tokens")
	fs.StringVar(&c.Model, "gen-model", defaultGenModel, genModelHelp)
	fs.IntVar(&c.Samples, "samples", 0, "target: this many candidates per problem")
	fs.IntVar(&c.Pass, "pass", 0, "target: this many distinct PASS programs per problem")
	fs.Int32Var(&c.RoundSize, "round-size", 16, "most samples asked for one problem per round")
	limits(fs, map[string][2]string{"samples": {"0", "1000000"}, "pass": {"0", "1000000"}, "round-size": {"1", "100000"}})
	fs.Int64Var(&c.MaxTokens, "max-tokens", 0, "budget: completion tokens of all the campaign's candidates (0: no limit)")
	fs.IntVar(&c.MaxRequests, "max-requests", 0, "budget: prompts published (0: no limit)")
	fs.IntVar(&c.MaxRounds, "max-rounds", 0, "budget: rounds each problem is asked in (0: no limit)")
	fs.DurationVar(&c.MaxDuration, "max-duration", 0, "budget: time since the campaign's first prompt (0: no limit)")
	fs.Int64Var(&c.MaxLag, "max-lag", 64, "publish a round only while the generator's and the executor's consumer lag are below this (messages)")
	fs.DurationVar(&c.Poll, "poll-interval", time.Second, "how often the topics and the lag are read while waiting")
	limits(fs, map[string][2]string{
		"max-tokens": {"0", "9223372036854775807"}, "max-requests": {"0", "1000000000"}, "max-rounds": {"0", "1000000000"},
		"max-duration": {"0s", "8760h"}, "max-lag": {"1", "1000000000"}, "poll-interval": {"10ms", "1h"},
	})
}
