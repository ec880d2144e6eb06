package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Tally counts the verdicts of one problem that share a day, a source, a label and a failure kind:
// what the HTML report draws from.
type Tally struct {
	Benchmark, Split, Model, ProblemID string
	Day                                string // execution date, YYYY-MM-DD (server time zone)
	Source                             string // the request id without its problem id (replay:MODEL, campaign/NAME/ROUND)
	Pass                               bool
	FailureKind                        string
	Count                              int
}

// where is f as a WHERE clause and its arguments, bound client-side by the driver (18.16 has no
// server-side {name:Type} parameters). The filtered columns are equal in all rows of a candidate, so
// filtering cannot interact with which duplicate FINAL keeps.
func (f ReportFilter) where() (string, []any) {
	var conds []string
	var args []any
	for _, c := range []struct{ col, val string }{{"benchmark", f.Benchmark}, {"split", f.Split}, {"model", f.Model}} {
		if c.val != "" {
			conds = append(conds, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return "WHERE " + strings.Join(conds, " AND "), args
}

// tallySQL groups the collapsed verdicts (FINAL) by problem, day, source, label and failure kind.
// Request ids end with their problem id (replay:MODEL:PROBLEM, campaign/NAME/ROUND/PROBLEM): the
// source is what precedes it, without the separator; an id of another shape has none, so that it
// does not become a source of its own. %s is the WHERE clause.
const tallySQL = `SELECT benchmark, split, model, problem_id,
    toString(toDate(executed_at)) AS day,
    replaceRegexpOne(if(endsWith(request_id, problem_id), substring(request_id, 1, length(request_id) - length(problem_id)), ''), '[:/]+$', '') AS source,
    label = 'PASS' AS passed, failure_kind, count() AS n
FROM verdicts FINAL
%s
GROUP BY benchmark, split, model, problem_id, day, source, passed, failure_kind
ORDER BY benchmark, split, model, problem_id, day, source, passed, failure_kind`

// ReportTallies returns the verdict counts the HTML report draws, narrowed by f.
func (s *Sink) ReportTallies(ctx context.Context, f ReportFilter) ([]Tally, error) {
	where, args := f.where()
	return queryRows(ctx, s.conn, "report tallies", fmt.Sprintf(tallySQL, where), args, func(rows driver.Rows, t *Tally) error {
		var pass uint8
		var n uint64
		err := rows.Scan(&t.Benchmark, &t.Split, &t.Model, &t.ProblemID, &t.Day, &t.Source, &pass, &t.FailureKind, &n)
		t.Pass, t.Count = pass == 1, int(n)
		return err
	})
}

// NewestEval returns the most recently written evaluation (of the newest model version evaluated)
// and its candidates ordered by problem and draw position; a zero EvalRun when none is stored.
func (s *Sink) NewestEval(ctx context.Context) (EvalRun, []EvalCandidate, error) {
	runs, err := queryRows(ctx, s.conn, "newest evaluation", `SELECT eval_id, model_version, input_hash, input_name, scope, n, seed, max(created_at) AS created
FROM eval_candidates FINAL
GROUP BY eval_id, model_version, input_hash, input_name, scope, n, seed
ORDER BY created DESC, eval_id
LIMIT 1`, nil, func(rows driver.Rows, run *EvalRun) error {
		var n uint32
		var created time.Time
		err := rows.Scan(&run.EvalID, &run.ModelVersion, &run.InputHash, &run.InputName, &run.Scope, &n, &run.Seed, &created)
		run.N = int(n)
		return err
	})
	if err != nil || len(runs) == 0 {
		return EvalRun{}, nil, err
	}
	cands, err := s.evalCandidates(ctx, runs[0].EvalID)
	return runs[0], cands, err
}

// evalCandidates reads one evaluation's candidates (verifier energies and labels) in draw order.
func (s *Sink) evalCandidates(ctx context.Context, evalID string) ([]EvalCandidate, error) {
	return queryRows(ctx, s.conn, "eval "+evalID+" candidates", `SELECT problem_id, candidate_id, position, pass, energy
FROM eval_candidates FINAL WHERE eval_id = ? ORDER BY problem_id, position`, []any{evalID}, func(rows driver.Rows, c *EvalCandidate) error {
		var pos uint32
		var pass uint8
		err := rows.Scan(&c.ProblemID, &c.CandidateID, &pos, &pass, &c.Energy)
		c.Position, c.Pass = int(pos), pass == 1
		return err
	})
}
