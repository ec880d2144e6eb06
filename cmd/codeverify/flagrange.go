package main

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Every numeric flag declares its allowed range where it is registered; the root command checks
// the flags of the command being run against them before anything runs, so a bad number is one
// line naming the flag instead of a panic or a silently substituted default. A numeric flag without
// a declared range is refused too (and TestEveryNumericFlagRejectsOutOfRangeValues finds it).

const flagRangeAnnotation = "codeverify-range"

// numericFlagTypes are the pflag value types that carry a number.
var numericFlagTypes = map[string]bool{
	"int": true, "int8": true, "int16": true, "int32": true, "int64": true,
	"uint": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true,
	"float32": true, "float64": true, "duration": true,
}

// limits declares the inclusive range of each named flag of fs: bounds are numbers, or durations
// ("0s", "24h") for duration flags.
func limits(fs *pflag.FlagSet, ranges map[string][2]string) {
	for name, r := range ranges {
		if fs.Lookup(name) == nil {
			panic("limits: no flag --" + name) // a typo in a declaration, found by every test
		}
		if err := fs.SetAnnotation(name, flagRangeAnnotation, []string{r[0], r[1]}); err != nil {
			panic(err)
		}
	}
}

// flagNumber is a flag's value (or a bound written for it) as a float64; durations in seconds.
func flagNumber(typ, s string) (float64, error) {
	if typ == "duration" {
		d, err := time.ParseDuration(s)
		return d.Seconds(), err
	}
	return strconv.ParseFloat(s, 64)
}

// checkFlagRanges checks every numeric flag of cmd (its own and those it inherits).
func checkFlagRanges(cmd *cobra.Command) error {
	var first error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		typ := f.Value.Type()
		if first != nil || !numericFlagTypes[typ] {
			return
		}
		r := f.Annotations[flagRangeAnnotation]
		if len(r) != 2 {
			first = fmt.Errorf("--%s: no allowed range declared (a bug: declare it with limits)", f.Name)
			return
		}
		v, err := flagNumber(typ, f.Value.String())
		lo, lerr := flagNumber(typ, r[0])
		hi, herr := flagNumber(typ, r[1])
		if lerr != nil || herr != nil {
			first = fmt.Errorf("--%s: bad declared range %v (a bug)", f.Name, r)
			return
		}
		if err != nil || math.IsNaN(v) || v < lo || v > hi {
			first = fmt.Errorf("invalid --%s %s: allowed range is %s … %s", f.Name, f.Value.String(), r[0], r[1])
		}
	})
	return first
}

// genModelFlag registers --gen-model, the name of the model that generated the candidates, with
// --model as a deprecated alias: --model is a model directory in eval and rerank.
func genModelFlag(fs *pflag.FlagSet, p *string, def, usage string) {
	fs.StringVar(p, "gen-model", def, usage)
	fs.StringVar(p, "model", def, usage)
	_ = fs.MarkDeprecated("model", "use --gen-model (--model is a model directory in eval and rerank)")
}
