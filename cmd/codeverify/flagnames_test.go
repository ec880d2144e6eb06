package main

import (
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestOneMeaningPerFlagName: no command redefines a global flag (a --python of its own, say the
// torch interpreter, would shadow the sandbox's), and --model is a model directory
// (eval, rerank, bench reranker) while the generating model's name is --gen-model everywhere,
// --model surviving there only as a deprecated alias.
func TestOneMeaningPerFlagName(t *testing.T) {
	root := newRoot()
	global := root.PersistentFlags()
	genModel := map[string]bool{"produce": true, "produce-prompts": true, "synthesize": true, "label": true, "report": true, "demo": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c == root {
			return
		}
		c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			if global.Lookup(f.Name) != nil {
				t.Errorf("%s --%s redefines the global flag", c.CommandPath(), f.Name)
			}
		})
		if genModel[c.Name()] {
			if c.Flags().Lookup("gen-model") == nil {
				t.Errorf("%s: no --gen-model", c.CommandPath())
			}
			if f := c.Flags().Lookup("model"); f != nil && f.Deprecated == "" {
				t.Errorf("%s --model: a model name here, a directory in eval; want it deprecated for --gen-model", c.CommandPath())
			}
		}
	}
	walk(root)
	bench, _, err := root.Find([]string{"bench", "reranker"})
	if err != nil || bench.Flags().Lookup("torch-python") == nil {
		t.Errorf("bench reranker: no --torch-python (%v)", err)
	}
}
