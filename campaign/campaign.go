// Package campaign keeps a problem set supplied with generated candidates: it publishes rounds of
// prompts until every problem has its target (a number of candidates, or of distinct programs that
// pass), or until a budget is spent. Everything it knows is read back from Kafka (its prompts, their
// candidates, verdicts and dead letters), so a campaign killed at any moment continues where it was
// when started again under the same name.
//
// Planning (Plan) is a pure function of the configuration, the problems and the State folded from
// the topics; Run is the loop that reads the topics, waits for the downstream stages and publishes.
package campaign

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config is one campaign: its name, what it asks the model for, its target and its budget.
type Config struct {
	// Name identifies the campaign: its request ids and seeds derive from it, so the same name
	// resumes the same campaign.
	Name string
	// ProblemsPath and Splits choose the problems, as produce-prompts does.
	ProblemsPath string
	Splits       []string

	Model           string
	Temperature     float64 // 0: the split's plan (train 1.0, others 0.8)
	TopP            float64
	SampleMaxTokens int32 // max_tokens of each sample
	RoundSize       int32 // most samples one problem is asked for per round

	// The target, one of the two: Samples candidates per problem, or Pass distinct passing programs
	// (distinct by the SHA-256 of the code).
	Samples int
	Pass    int

	// The budget; zero means no limit.
	MaxTokens   int64         // completion tokens of the campaign's candidates
	MaxRequests int           // prompts published
	MaxRounds   int           // prompts per problem (the rounds that asked it)
	MaxDuration time.Duration // since the campaign's first prompt

	// MaxLag bounds the backlog: a round is published only while the generator's lag on prompts and
	// the executor's lag on candidates are both below it.
	MaxLag int64
	// Poll is how often the topics and the lag are read while waiting.
	Poll time.Duration
}

// nameRE is what a campaign name may be: it is part of every request id, between slashes.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidateName checks a campaign name.
func ValidateName(name string) error {
	if name == "" {
		return errors.New("no campaign NAME given")
	}
	if !nameRE.MatchString(name) {
		return fmt.Errorf("campaign name %q: want 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// Validate checks a configuration before a campaign runs.
func (c Config) Validate() error {
	var errs []error
	if err := ValidateName(c.Name); err != nil {
		errs = append(errs, err)
	}
	switch {
	case c.Samples > 0 && c.Pass > 0:
		errs = append(errs, errors.New("--samples and --pass are two targets: give one"))
	case c.Samples <= 0 && c.Pass <= 0:
		errs = append(errs, errors.New("no target: give --samples N (candidates per problem) or --pass K (distinct passing programs per problem)"))
	}
	if c.ProblemsPath == "" {
		errs = append(errs, errors.New("--problems is required"))
	}
	if c.Model == "" {
		errs = append(errs, errors.New("no model (--gen-model)"))
	}
	if c.RoundSize < 1 {
		errs = append(errs, fmt.Errorf("round size %d: want ≥ 1", c.RoundSize))
	}
	if c.SampleMaxTokens < 1 {
		errs = append(errs, fmt.Errorf("sample max tokens %d: want ≥ 1", c.SampleMaxTokens))
	}
	if c.MaxLag < 1 {
		errs = append(errs, fmt.Errorf("max lag %d: want ≥ 1", c.MaxLag))
	}
	if c.Poll <= 0 {
		errs = append(errs, fmt.Errorf("poll interval %v: want > 0", c.Poll))
	}
	if c.MaxTokens < 0 || c.MaxRequests < 0 || c.MaxRounds < 0 || c.MaxDuration < 0 {
		errs = append(errs, errors.New("a budget is negative"))
	}
	if len(errs) == 0 {
		return nil
	}
	// One line, as every CLI error is.
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("campaign: %s", strings.Join(msgs, "; "))
}

// target describes the target for people, e.g. "10 samples".
func (c Config) target() string {
	if c.Pass > 0 {
		return fmt.Sprintf("%d distinct PASS", c.Pass)
	}
	if c.Samples > 0 {
		return fmt.Sprintf("%d samples", c.Samples)
	}
	return "no target"
}

// requestPrefix starts every request id of the campaign.
func requestPrefix(name string) string { return "campaign/" + name + "/" }

// RequestID is the id of the prompt of round (from 1) for problem: campaign/NAME/ROUND/PROBLEM. The
// same campaign republishing a round gives the same id, and so the same candidate ids.
func RequestID(name string, round int, problemID string) string {
	return requestPrefix(name) + strconv.Itoa(round) + "/" + problemID
}

// ParseRequestID returns the round and problem of one of the campaign's request ids; ok is false
// for any other id.
func ParseRequestID(name, id string) (round int, problemID string, ok bool) {
	rest, found := strings.CutPrefix(id, requestPrefix(name))
	if !found {
		return 0, "", false
	}
	r, problemID, found := strings.Cut(rest, "/")
	round, err := strconv.Atoi(r)
	if !found || err != nil || round < 1 || problemID == "" || strconv.Itoa(round) != r {
		return 0, "", false
	}
	return round, problemID, true
}

// Seed is the sampling seed of round for problem: the same in every run of the campaign, different
// from round to round (or the rounds would draw the same samples), never 0 (which means unseeded),
// and below 2³¹ so that every server accepts it.
func Seed(name string, round int, problemID string) int64 {
	sum := sha256.Sum256([]byte(name + "\x00" + strconv.Itoa(round) + "\x00" + problemID))
	s := int64(binary.BigEndian.Uint32(sum[:4]) & 0x7fffffff)
	if s == 0 {
		s = 1
	}
	return s
}
