package main

import (
	"github.com/codeverify/codeverify/internal/flagrange"
	"github.com/spf13/pflag"
)

// limits declares the inclusive range of each named flag of fs (flagrange.Limits); the root
// command checks the flags of the command being run against them before anything runs.
func limits(fs *pflag.FlagSet, ranges map[string][2]string) { flagrange.Limits(fs, ranges) }

// genModelFlag registers --gen-model, the name of the model that generated the candidates, with
// --model as a deprecated alias: --model is a model directory in eval and rerank.
func genModelFlag(fs *pflag.FlagSet, p *string, def, usage string) {
	fs.StringVar(p, "gen-model", def, usage)
	fs.StringVar(p, "model", def, usage)
	_ = fs.MarkDeprecated("model", "use --gen-model (--model is a model directory in eval and rerank)")
}
