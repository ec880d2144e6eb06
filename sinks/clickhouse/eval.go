package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// EvalRun identifies one offline evaluation (codeverify eval --clickhouse); every candidate row
// carries it.
type EvalRun struct {
	EvalID       string // derived from the fields below, so a rerun replaces its own rows
	ModelVersion string
	InputHash    string // content hash of the input files: evaluations of one input compare
	InputName    string // for people: the input files' names
	Scope        string // which problems: all, or a held-out fold; split filters
	N            int    // candidates drawn per problem
	Seed         uint64 // the draw's seed
}

// EvalCandidate is one drawn, labelled and scored candidate.
type EvalCandidate struct {
	ProblemID     string
	CandidateID   string
	Position      int // draw position within its problem
	Pass          bool
	Energy        float32 // the verifier's
	HasCodeT      bool    // the evaluation ran generated tests
	CodeTPool     bool    // in CodeT's best dual-agreement groups
	HasCodeEnergy bool    // a code-only model ran
	CodeEnergy    float32 // the code-only model's energy
}

// EvalProblem is one problem's figures, computed in SQL.
type EvalProblem struct {
	ProblemID  string
	Candidates int
	Baseline   float64 // avg(pass)
	Oracle     float64 // max(pass)
	Verifier   float64 // pass of the min-energy candidate, ties to the smaller candidate_id
	Chosen     string  // that candidate's id
	CodeT      float64 // pass rate of CodeT's best groups; 0 without generated tests
	Energy     float64 // pass of the code-only model's min-energy candidate; 0 without one
	HasCodeT   bool
	HasEnergy  bool
}

// EvalSummary is one evaluation's means over its problems, computed in SQL.
type EvalSummary struct {
	EvalRun
	Problems, Candidates       int
	Baseline, Oracle, Verifier float64
	CodeT, Energy              float64
	HasCodeT, HasEnergy        bool
	CreatedAt                  time.Time
}

const insertEvalCandidates = `INSERT INTO eval_candidates (
    eval_id, model_version, input_hash, input_name, scope, n, seed,
    problem_id, candidate_id, position, pass, energy, has_codet, codet_pool, has_code_energy, code_energy, created_at)`

// WriteEval inserts an evaluation's candidates as one batch. Rewriting the same evaluation (same
// eval id, same draw) replaces its rows.
func (s *Sink) WriteEval(ctx context.Context, run EvalRun, cands []EvalCandidate) error {
	if run.EvalID == "" || run.ModelVersion == "" || run.InputHash == "" {
		return fmt.Errorf("clickhouse: evaluation without an eval id, model version or input hash: %+v", run)
	}
	now := time.Now()
	return insertRows(ctx, s.conn, insertEvalCandidates, "eval candidate", cands, nil,
		func(c EvalCandidate) string { return c.CandidateID },
		func(c EvalCandidate) []any {
			return []any{run.EvalID, run.ModelVersion, run.InputHash, run.InputName, run.Scope, uint32(run.N), run.Seed,
				c.ProblemID, c.CandidateID, uint32(c.Position), u8(c.Pass), c.Energy, u8(c.HasCodeT), u8(c.CodeTPool), u8(c.HasCodeEnergy), c.CodeEnergy, now}
		})
}

func u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// evalProblemSQL gives each problem of an evaluation its figures. argMin over the tuple (energy,
// candidate_id) is the min-energy candidate with ties to the smaller id (bytewise, as Go compares
// strings); it works on 18.16 and current servers alike. CodeT's figure is the pass rate of its
// pool; a method that did not run scores 0 and its has_ flag is 0.
const evalProblemSQL = `SELECT
    eval_id, model_version, input_hash, input_name, scope, n, seed, problem_id,
    count()                                     AS candidates,
    avg(pass)                                   AS baseline,
    max(pass)                                   AS oracle,
    argMin(pass, (energy, candidate_id))        AS verifier,
    argMin(candidate_id, (energy, candidate_id)) AS chosen,
    max(has_codet)                              AS with_codet,
    if(sum(codet_pool) = 0, 0, sum(pass * codet_pool) / sum(codet_pool)) AS codet,
    max(has_code_energy)                        AS with_energy,
    if(max(has_code_energy) = 0, 0, argMin(pass, (code_energy, candidate_id))) AS energy_pick,
    max(created_at)                             AS created
FROM eval_candidates FINAL
WHERE %s
GROUP BY eval_id, model_version, input_hash, input_name, scope, n, seed, problem_id`

// EvalProblems returns the per-problem figures of one evaluation, ordered by problem id (the
// order eval bootstraps in).
func (s *Sink) EvalProblems(ctx context.Context, evalID string) ([]EvalProblem, error) {
	q := "SELECT problem_id, candidates, baseline, oracle, verifier, chosen, with_codet, codet, with_energy, energy_pick FROM (" + fmt.Sprintf(evalProblemSQL, "eval_id = ?") + ") ORDER BY problem_id"
	return queryRows(ctx, s.conn, "eval "+evalID+" per problem", q, []any{evalID}, func(rows driver.Rows, p *EvalProblem) error {
		var cands uint64
		var oracle, verifier, withCodeT, withEnergy, energy uint8
		err := rows.Scan(&p.ProblemID, &cands, &p.Baseline, &oracle, &verifier, &p.Chosen, &withCodeT, &p.CodeT, &withEnergy, &energy)
		p.Candidates, p.Oracle, p.Verifier, p.Energy = int(cands), float64(oracle), float64(verifier), float64(energy)
		p.HasCodeT, p.HasEnergy = withCodeT == 1, withEnergy == 1
		return err
	})
}

// EvalSummaries returns, for every evaluation of an input, the means over its problems, computed
// in SQL from the per-problem figures; ordered by model version, scope, n, seed.
func (s *Sink) EvalSummaries(ctx context.Context, inputHash string) ([]EvalSummary, error) {
	q := `SELECT eval_id, model_version, input_hash, input_name, scope, n, seed,
    count(), sum(candidates), avg(baseline), avg(oracle), avg(verifier),
    avg(codet), avg(energy_pick), max(with_codet), max(with_energy), max(created)
FROM (` + fmt.Sprintf(evalProblemSQL, "input_hash = ?") + `)
GROUP BY eval_id, model_version, input_hash, input_name, scope, n, seed
ORDER BY model_version, scope, n, seed, eval_id`
	return queryRows(ctx, s.conn, "eval summaries of input "+inputHash, q, []any{inputHash}, func(rows driver.Rows, e *EvalSummary) error {
		var n uint32
		var problems, cands uint64
		var withCodeT, withEnergy uint8
		err := rows.Scan(&e.EvalID, &e.ModelVersion, &e.InputHash, &e.InputName, &e.Scope, &n, &e.Seed,
			&problems, &cands, &e.Baseline, &e.Oracle, &e.Verifier, &e.CodeT, &e.Energy, &withCodeT, &withEnergy, &e.CreatedAt)
		e.HasCodeT, e.HasEnergy = withCodeT == 1, withEnergy == 1
		e.N, e.Problems, e.Candidates = int(n), int(problems), int(cands)
		return err
	})
}
