package main

import (
	"os"

	"github.com/codeverify/codeverify/pipeline"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func (a *app) brokerCmd() *cobra.Command {
	return command("broker", "Run the embedded Kafka-protocol broker (kfake) on 127.0.0.1, data under VAR_DIR/kafka", "",
		func(cmd *cobra.Command) error { return pipeline.RunBroker(cmd.Context(), a.Env) })
}

func (a *app) topicsCmd() *cobra.Command {
	return command("topics", "Create the topic catalog on the brokers (idempotent) and print it", "",
		func(cmd *cobra.Command) error { return pipeline.Topics(cmd.Context(), a.Env, os.Stdout) })
}

func (a *app) produceCmd() *cobra.Command {
	var o pipeline.ProduceOptions
	var noTruncate bool
	cmd := command("produce --problems FILE [--samples FILE] [--tests FILE]",
		"Publish problems (and pre-generated samples as candidates, generated tests as test sets) to the topics", "",
		func(cmd *cobra.Command) error {
			if noTruncate {
				o.Sample.Stops = []string{}
			}
			return pipeline.Produce(cmd.Context(), a.Env, o, os.Stdout)
		})
	f := cmd.Flags()
	inputFiles{&o.Problems, &o.Samples, &o.Tests}.bind(f, problemsHelp, "pre-generated samples (CodeT or human-eval format)",
		"generated test cases (CodeT test-case format), replayed onto the tests topic")
	sampleFlags(f, &o.Sample, "unknown", "samples and tests", 0, 1)
	f.BoolVar(&noTruncate, "no-truncate", false, "do not cut CodeT completions at stop sequences")
	return cmd
}

// sampleFlags registers how the pre-generated samples were sampled: the model that generated them
// (and what else it generated) with the sampling temperature and top_p.
func sampleFlags(f *pflag.FlagSet, o *producers.SampleOptions, model, generated string, temperature, topP float64) {
	genModelFlag(f, &o.Model, model, "name of the model that generated the "+generated)
	f.Float64Var(&o.Temperature, "temperature", temperature, "sampling temperature of the samples")
	f.Float64Var(&o.TopP, "top-p", topP, "top_p of the samples")
	limits(f, map[string][2]string{"temperature": {"0", "2"}, "top-p": {"0", "1"}})
}

func (a *app) reportCmd() *cobra.Command {
	var f clickhouse.ReportFilter
	cmd := command("report", "Pass rates and unbiased pass@k per benchmark/split/model, computed in ClickHouse", "",
		func(cmd *cobra.Command) error {
			return pipeline.Report(cmd.Context(), a.Env, f, cmd.Flag("html").Value.String(), os.Stdout)
		})
	cmd.Flags().String("html", "", "also write the charts (pass@k, pass rates, failure kinds, the newest verifier) to this HTML file")
	cmd.Flags().StringVar(&f.Benchmark, "benchmark", "", "only this benchmark")
	genModelFlag(cmd.Flags(), &f.Model, "", "only this generating model")
	return cmd
}
