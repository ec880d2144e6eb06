package campaign

import (
	"time"

	"github.com/spf13/pflag"
)

// Help documents the campaign command: targets, budget, backpressure and resuming.
const Help = `Publishes rounds of generation prompts for the chosen problems (--problems, --split, as
produce-prompts) until every problem has its target:
  --samples N   N candidates per problem, exactly (counted by candidate id), or
  --pass K      K distinct programs that PASS per problem (distinct by the SHA-256 of the code;
                the same program drawn twice counts once).
Each round asks each problem that still needs more for min(--round-size, what is missing) samples,
in one prompt with request id campaign/NAME/ROUND/PROBLEM and a seed derived from (NAME, ROUND,
PROBLEM): a rerun draws the same samples and a republished prompt is the same request. A round asks
only the problems ready for more: with --pass a problem is asked again only once its previous samples
have verdicts.

Budget (0 = none): --max-tokens caps the completion tokens of the campaign's candidates (a round is
cut so that the tokens used plus --sample-max-tokens for every pending sample stay within it),
--max-requests the prompts, --max-rounds the rounds each problem is asked in, --max-duration the
time since the campaign's first prompt. A spent budget ends the campaign with an error naming it; a problem whose prompts the
generator dead-lettered 3 times is given up.

Backpressure: a round is published only while the generator's lag on prompts and the executor's lag
on candidates are both below --max-lag, so the campaign runs at the pace of the pipeline
(codeverify generate and codeverify execute must be running).

Resume: nothing is kept outside Kafka. On start the campaign reads its prompts, their candidates,
verdicts and dead letters back from the topics and continues from there, so a campaign killed at any
moment is resumed by running the same command again. Run one process per campaign name.
'codeverify campaign status NAME' prints each problem's progress from the same topics.`

// Bind registers the campaign's flags on fs (the model's name is --gen-model, as elsewhere).
func (c *Config) Bind(fs *pflag.FlagSet) {
	fs.StringVar(&c.ProblemsPath, "problems", "", "problems file (MBPP .jsonl/.json, HumanEval .jsonl)")
	fs.StringSliceVar(&c.Splits, "split", []string{"train"}, "splits to prompt (empty: all)")
	fs.StringVar(&c.Model, "gen-model", "deepseek-ai/deepseek-coder-1.3b-instruct", "name of the generating model (must be in the generator's models file)")
	fs.IntVar(&c.Samples, "samples", 0, "target: this many candidates per problem")
	fs.IntVar(&c.Pass, "pass", 0, "target: this many distinct PASS programs per problem")
	fs.Int32Var(&c.RoundSize, "round-size", 16, "most samples asked for one problem per round")
	fs.Float64Var(&c.Temperature, "temperature", 0, "sampling temperature (0: the split's plan, train 1.0 / others 0.8)")
	fs.Float64Var(&c.TopP, "top-p", 0.95, "top_p")
	fs.Int32Var(&c.SampleMaxTokens, "sample-max-tokens", 512, "max tokens per sample")
	fs.Int64Var(&c.MaxTokens, "max-tokens", 0, "budget: completion tokens of all the campaign's candidates (0: no limit)")
	fs.IntVar(&c.MaxRequests, "max-requests", 0, "budget: prompts published (0: no limit)")
	fs.IntVar(&c.MaxRounds, "max-rounds", 0, "budget: rounds each problem is asked in (0: no limit)")
	fs.DurationVar(&c.MaxDuration, "max-duration", 0, "budget: time since the campaign's first prompt (0: no limit)")
	fs.Int64Var(&c.MaxLag, "max-lag", 64, "publish a round only while the generator's and the executor's consumer lag are below this (messages)")
	fs.DurationVar(&c.Poll, "poll-interval", time.Second, "how often the topics and the lag are read while waiting")
}

// FlagRanges are the allowed ranges of Bind's numeric flags, for the CLI's range check.
func FlagRanges() map[string][2]string {
	return map[string][2]string{
		"samples": {"0", "1000000"}, "pass": {"0", "1000000"}, "round-size": {"1", "100000"},
		"temperature": {"0", "2"}, "top-p": {"0.01", "1"}, "sample-max-tokens": {"1", "32768"},
		"max-tokens": {"0", "9223372036854775807"}, "max-requests": {"0", "1000000000"}, "max-rounds": {"0", "1000000000"},
		"max-duration": {"0s", "8760h"}, "max-lag": {"1", "1000000000"}, "poll-interval": {"10ms", "1h"},
	}
}
