package campaign

import (
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/codeverify/codeverify/schemas"
)

// Status reads what the topics hold about the campaign c.Name and prints each problem's progress
// and the totals on env.Out. With c.ProblemsPath the chosen problems are listed even before the
// campaign asked for them; with a target (c.Samples or c.Pass) each row says whether it is met.
func Status(ctx context.Context, env Env, c Config) error {
	if err := ValidateName(c.Name); err != nil {
		return err
	}
	var chosen []schemas.Problem
	if c.ProblemsPath != "" {
		var err error
		if _, chosen, err = LoadProblems(c.ProblemsPath, c.Splits); err != nil {
			return err
		}
	}
	src, err := connect(ctx, env, c.Name)
	if err != nil {
		return err
	}
	if err := src.refresh(ctx); err != nil {
		return fmt.Errorf("campaign %s: %w", c.Name, err)
	}
	ids := src.state.ProblemIDs()
	for _, p := range chosen {
		if !slices.Contains(ids, p.ProblemID) {
			ids = append(ids, p.ProblemID)
		}
	}
	slices.Sort(ids)
	return writeStatus(env.Out, c, src.state, ids, src.bad)
}

// writeStatus prints the table of Status.
func writeStatus(w io.Writer, c Config, st *State, ids []string, bad int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "problem\trounds\trequested\tsamples\tjudged\tPASS\tdistinct PASS\ttokens\ttarget met\t\n")
	var rounds, requested, samples, judged, passed, distinct, met int
	var tokens int64
	for _, id := range ids {
		p := st.Problem(id)
		yes := "-"
		if c.Samples > 0 || c.Pass > 0 {
			yes = "no"
			if c.Met(p) {
				yes = "yes"
				met++
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", id, p.Rounds(), p.Committed(), p.Samples(), p.Judged(),
			p.Passed(), p.DistinctPass(), p.Tokens(), yes)
		rounds, requested, samples, judged = rounds+p.Rounds(), requested+p.Committed(), samples+p.Samples(), judged+p.Judged()
		passed, distinct, tokens = passed+p.Passed(), distinct+p.DistinctPass(), tokens+p.Tokens()
	}
	fmt.Fprintf(tw, "total (%d problems)\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d/%d\t\n", len(ids), rounds, requested, samples, judged,
		passed, distinct, tokens, met, len(ids))
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "campaign %s: %d rounds, %d requests, target %s", c.Name, st.MaxRound, st.Requests(), c.target())
	if bad > 0 {
		fmt.Fprintf(w, "; %d undecodable records skipped", bad)
	}
	fmt.Fprintln(w)
	return err
}
