package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/flagrange"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// outOfRange gives values just outside a flag's declared range, an absurd one, and the
// numbers-that-are-not (NaN) for floats.
func outOfRange(t *testing.T, f *pflag.Flag) []string {
	t.Helper()
	r := f.Annotations[flagrange.Annotation]
	if len(r) != 2 {
		t.Errorf("--%s (%s): no allowed range declared", f.Name, f.Value.Type())
		return []string{"-1", "99999999999999"}
	}
	typ := f.Value.Type()
	lo, err1 := flagrange.Number(typ, r[0])
	hi, err2 := flagrange.Number(typ, r[1])
	if err1 != nil || err2 != nil {
		t.Fatalf("--%s: bad range %v", f.Name, r)
	}
	var vals []string
	switch typ {
	case "duration":
		vals = []string{fmt.Sprintf("%gs", lo-1), fmt.Sprintf("%gs", hi+1)}
	case "float32", "float64":
		vals = []string{strconv.FormatFloat(lo-1, 'g', -1, 64), strconv.FormatFloat(hi+1, 'g', -1, 64), "NaN"}
	default:
		vals = []string{strconv.FormatFloat(lo-1, 'f', -1, 64), strconv.FormatFloat(hi+1, 'f', -1, 64)}
	}
	if hi < 1e12 { // an absurd value, where the range does not take every number (seeds)
		vals = append(vals, map[bool]string{true: "1000000h", false: "99999999999999"}[typ == "duration"])
	}
	return vals
}

// TestEveryNumericFlagRejectsOutOfRangeValues runs every command with each of its numeric flags
// out of range: the binary must exit non-zero at once with one line naming the flag, before it
// touches anything (the broker and ClickHouse addresses point nowhere, so a command that ran
// anyway fails the time or the message check rather than doing something).
func TestEveryNumericFlagRejectsOutOfRangeValues(t *testing.T) {
	cliBinary(t)
	env := []string{"CODEVERIFY_BROKERS=127.0.0.1:1", "CODEVERIFY_CLICKHOUSE_ADDR=127.0.0.1:1", "CODEVERIFY_VAR_DIR=" + t.TempDir(), "CODEVERIFY_CONNECT_TIMEOUT=1s"}
	root := newRoot()
	type run struct{ args []string }
	var runs []run
	// The root's persistent flags, through a command that needs nothing else.
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if flagrange.Numeric(f.Value.Type()) {
			for _, v := range outOfRange(t, f) {
				runs = append(runs, run{[]string{"topology", "--" + f.Name + "=" + v}})
			}
		}
	})
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
		if !c.Runnable() {
			return
		}
		c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			if flagrange.Numeric(f.Value.Type()) {
				for _, v := range outOfRange(t, f) {
					runs = append(runs, run{append(append([]string{}, path...), "--"+f.Name+"="+v)})
				}
			}
		})
	}
	walk(root, nil)
	if len(runs) < 50 {
		t.Fatalf("only %d runs: the walk missed the commands", len(runs))
	}
	for _, r := range runs {
		t.Run(strings.Join(r.args, " "), func(t *testing.T) {
			t.Parallel()
			res := runBinary(t, 15*time.Second, env, r.args...)
			flag := r.args[len(r.args)-1]
			wantOneLineError(t, res, flag[:strings.Index(flag, "=")])
		})
	}
}

// TestNumericFlagDefaultsAreInRange keeps the declarations honest: a default outside its own range
// would make a command refuse to run without flags.
func TestNumericFlagDefaultsAreInRange(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) { // its own and, for the root, the persistent ones
			if !flagrange.Numeric(f.Value.Type()) {
				return
			}
			r := f.Annotations[flagrange.Annotation]
			v, err := flagrange.Number(f.Value.Type(), f.DefValue)
			lo, _ := flagrange.Number(f.Value.Type(), r[0])
			hi, _ := flagrange.Number(f.Value.Type(), r[1])
			if err != nil || v < lo || v > hi {
				t.Errorf("%s --%s: default %s outside %v", c.CommandPath(), f.Name, f.DefValue, r)
			}
		})
	}
	walk(newRoot())
}
