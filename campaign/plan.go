package campaign

import (
	"fmt"
	"time"

	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
)

// maxDeadLetters is how many of a problem's prompts the generator may give up on before the
// campaign gives up on the problem: a prompt the server always refuses must not be asked forever.
const maxDeadLetters = 3

// Decision is what Plan says to do next.
type Decision struct {
	// Round is the round of Prompts.
	Round int
	// Prompts are to be published now (one per problem that needs more), in problem order.
	Prompts []schemas.Prompt
	// Done: every problem met its target (or was given up, see GivenUp).
	Done bool
	// Stop is why the campaign must end with targets unmet: a spent budget. Empty otherwise.
	Stop string
	// GivenUp are the problems whose prompts were dead-lettered maxDeadLetters times.
	GivenUp []string
	// Waiting is how many unmet problems wait for answers before they can be asked again.
	Waiting int
}

// Met reports whether a problem's progress meets the configured target.
func (c Config) Met(p *Progress) bool {
	switch {
	case c.Pass > 0:
		return p.DistinctPass() >= c.Pass
	case c.Samples > 0:
		return p.Samples() >= c.Samples
	}
	return false
}

// missing is how many more samples a problem should be asked for now; 0 while it must wait.
func (c Config) missing(p *Progress) int {
	if c.Pass > 0 {
		// How many samples a round will take is unknowable before its verdicts are in: a problem
		// is asked again only once everything it was asked before has been judged.
		if !p.Settled() {
			return 0
		}
		return c.Pass - p.DistinctPass()
	}
	// Samples are counted before they arrive: what was asked for and not lost will come.
	return c.Samples - p.Committed()
}

// Plan decides the next step of a campaign over problems, given what the topics say (st) and the
// time now. It publishes nothing; Run does what it says.
func Plan(c Config, problems []schemas.Problem, st *State, now time.Time) Decision {
	d := Decision{Round: st.MaxRound + 1}
	type need struct {
		problem schemas.Problem
		n       int
	}
	var needs []need
	unmet, capped := 0, 0
	for _, pb := range problems {
		p := st.Problem(pb.ProblemID)
		if c.Met(p) {
			continue
		}
		if p.DeadLettered() >= maxDeadLetters {
			d.GivenUp = append(d.GivenUp, pb.ProblemID)
			continue
		}
		unmet++
		switch m := c.missing(p); {
		case m <= 0:
			d.Waiting++
		case c.MaxRounds > 0 && p.Rounds() >= c.MaxRounds:
			capped++
		default:
			needs = append(needs, need{pb, min(int(c.RoundSize), m)})
		}
	}
	if unmet == 0 {
		d.Done = true
		return d
	}
	if c.MaxDuration > 0 && st.FirstPromptMs > 0 && now.Sub(time.UnixMilli(st.FirstPromptMs)) >= c.MaxDuration {
		d.Stop = fmt.Sprintf("max-duration %v spent", c.MaxDuration)
		return d
	}
	if len(needs) == 0 {
		if capped > 0 && d.Waiting == 0 {
			d.Stop = fmt.Sprintf("max-rounds %d spent (%d problems asked %d times)", c.MaxRounds, capped, c.MaxRounds)
		}
		return d // wait for answers
	}
	if c.MaxRequests > 0 {
		left := c.MaxRequests - st.Requests()
		if left <= 0 {
			d.Stop = fmt.Sprintf("max-requests %d spent", c.MaxRequests)
			return d
		}
		needs = needs[:min(len(needs), left)]
	}
	if c.MaxTokens > 0 {
		// Every sample asked for may take SampleMaxTokens: a round is cut to what fits beside the
		// tokens used and those the samples still pending may use, so the budget is never passed.
		per := int64(c.SampleMaxTokens)
		left := (c.MaxTokens - st.Tokens() - st.Pending()*per) / per
		if left <= 0 {
			if st.Pending() == 0 {
				d.Stop = fmt.Sprintf("max-tokens %d spent", c.MaxTokens)
			}
			return d // pending samples may use less than their share
		}
		cut := needs[:0]
		for _, nd := range needs {
			nd.n = int(min(int64(nd.n), left))
			left -= int64(nd.n)
			if nd.n > 0 {
				cut = append(cut, nd)
			}
		}
		needs = cut
	}
	created := now.UnixMilli()
	for _, nd := range needs {
		pr := producers.BuildPrompts([]schemas.Problem{nd.problem}, producers.PromptOptions{
			Model: c.Model, N: int32(nd.n), Temperature: c.Temperature, TopP: c.TopP, MaxTokens: c.SampleMaxTokens,
			Seed: Seed(c.Name, d.Round, nd.problem.ProblemID), CreatedAtMs: created,
		})[0]
		pr.RequestID = RequestID(c.Name, d.Round, nd.problem.ProblemID)
		d.Prompts = append(d.Prompts, pr)
	}
	return d
}
