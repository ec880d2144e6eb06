package chaos

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
)

// TestChaos runs the pipeline once cleanly, then once per fault, each over its own broker and
// ClickHouse database; each fault's verdicts (FINAL) must equal the clean run's candidate by
// candidate.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos suite: minutes of real processes")
	}
	began := time.Now()
	ch := localClickHouse(t)
	problems, samples := subset(t, t.TempDir())
	const want = nProblems * nSamples

	var clean map[string]string
	ok := t.Run("clean", func(t *testing.T) {
		w := newWorld(t, ch)
		w.produce(problems, samples)
		w.executor("execute")
		w.sink()
		clean = w.waitLabels(want, 90*time.Second, nil)
		if len(clean) != want {
			t.Fatalf("clean run stored %d verdicts, want %d", len(clean), want)
		}
		pass := 0
		for _, l := range clean {
			if l == string(schemas.Pass) {
				pass++
			}
		}
		t.Logf("clean run: %d verdicts, %d PASS, in %v", len(clean), pass, time.Since(began).Round(time.Second))
	})
	if !ok {
		t.Fatal("no clean run to compare with")
	}

	t.Run("executor-kill9", func(t *testing.T) {
		w := newWorld(t, ch)
		w.clean = clean
		w.produce(problems, samples)
		ex := []*proc{w.executor("execute-a"), w.executor("execute-b")}
		w.sink()
		// Several rounds: at a random moment one replica dies and comes back; its uncommitted
		// candidates are executed again by whichever replica owns their partition next.
		// The moments are drawn as points of progress, so that every round falls while candidates are
		// still being executed, however fast the machine.
		at := []int{want/10 + rand.IntN(want/5), want/3 + rand.IntN(want/5), 2*want/3 + rand.IntN(want/5)}
		for round := 1; round <= len(at); round++ {
			w.waitLabels(at[round-1], 60*time.Second, nil)
			time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
			victim := ex[rand.IntN(len(ex))]
			m, _ := w.labels()
			t.Logf("round %d: kill -9 %s with %d of %d verdicts stored", round, victim.name, len(m), want)
			victim.kill9()
			time.Sleep(time.Duration(rand.IntN(1000)) * time.Millisecond)
			victim.startProcess()
		}
		sameLabels(t, clean, w.waitLabels(want, 120*time.Second, nil))
	})

	t.Run("sink-kill9", func(t *testing.T) {
		w := newWorld(t, ch)
		w.clean = clean
		w.produce(problems, samples)
		w.executor("execute")
		sink := w.sink()
		// Random moments, not tied to the sink's writes: a kill may fall between an insert and its
		// commit, or (were the order wrong) between a commit and its insert.
		for _, at := range []int{want / 10, want / 4, want / 2, 3 * want / 4} {
			w.waitLabels(at, 60*time.Second, nil)
			time.Sleep(time.Duration(rand.IntN(1000)) * time.Millisecond)
			m, _ := w.labels()
			t.Logf("kill -9 the sink with %d of %d verdicts stored", len(m), want)
			sink.kill9()
			time.Sleep(500 * time.Millisecond)
			sink.startProcess()
		}
		sameLabels(t, clean, w.waitLabels(want, 90*time.Second, nil))
	})

	t.Run("broker-kill9", func(t *testing.T) {
		w := newWorld(t, ch)
		w.clean = clean
		w.produce(problems, samples)
		w.executor("execute")
		w.sink()
		w.waitLabels(want/10+rand.IntN(want/2), 60*time.Second, nil)
		m, _ := w.labels()
		t.Logf("kill -9 the broker with %d of %d verdicts stored", len(m), want)
		w.restartBroker()
		sameLabels(t, clean, w.waitLabels(want, 120*time.Second, nil))
	})

	t.Run("clickhouse-restart", func(t *testing.T) {
		ch2 := secondClickHouse(t)
		w := newWorld(t, ch2)
		w.clean = clean
		w.produce(problems, samples)
		w.executor("execute")
		sink := w.sink()
		w.waitLabels(want/4, 60*time.Second, nil)
		httpPort := 0
		fmt.Sscan(strings.TrimSpace(getenv(t, "CHAOS_CH_HTTP_PORT")), &httpPort)
		t.Log("stopping the second ClickHouse")
		ch2.stop(t)
		time.Sleep(3 * time.Second)
		if sink.exited() {
			t.Fatalf("the sink exited while ClickHouse was down:\n%s", sink.tail(20))
		}
		ch2.start(t, httpPort)
		t.Log("second ClickHouse restarted")
		sameLabels(t, clean, w.waitLabels(want, 90*time.Second, nil))
		if !strings.Contains(sink.log(), "batch write failed, will retry") {
			t.Log("note: the sink had nothing to write while ClickHouse was down")
		}
	})

	t.Run("poison-pills", func(t *testing.T) {
		w := newWorld(t, ch)
		w.clean = clean
		codecs, err := schemas.NewCodecs()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		kafka := streams.Cluster{Brokers: []string{w.brokers}}
		// Undecodable candidates: two of 600 KB, one of 1,048,376 bytes (its dead letter, original
		// plus headers, would be over the broker's limit: it must be cut to fit).
		junk := func(n int, seed byte) []byte {
			b := bytes.Repeat([]byte{seed}, n)
			return b
		}
		pills := []pill{
			{"candidates", "poison-a", junk(600_000, 'a')},
			{"candidates", "poison-b", junk(600_000, 'b')},
			{"candidates", "poison-c", junk(1_048_376, 'c')},
		}
		// Verdicts straight to the sink: one without a candidate id (valid Avro, refused by the
		// sink), one whose label is "MAYBE" (an enum index the schema lacks: undecodable).
		noID := schemas.Verdict{CandidateID: "", RequestID: "poison", ProblemID: "HumanEval/0", Label: schemas.Pass, FailureKind: schemas.KindNone}
		b, err := codecs.Verdict.Encode(noID)
		if err != nil {
			t.Fatal(err)
		}
		pills = append(pills, pill{"verdicts", "poison-no-id", b}, pill{"verdicts", "poison-maybe", maybeVerdict(t, codecs)})
		w.produce(problems, samples) // creates the topics
		for _, p := range pills {
			if err := streams.PublishRaw(ctx, kafka, p.topic, []byte(p.key), p.value); err != nil {
				t.Fatalf("publish %s (%d bytes) to %s: %v", p.key, len(p.value), p.topic, err)
			}
		}
		w.executor("execute")
		sink := w.sink()
		sameLabels(t, clean, w.waitLabels(want, 120*time.Second, nil))

		// Every pill is in its topic's dead-letter topic, with a reason and the original's hash.
		deadline := time.Now().Add(30 * time.Second)
		for {
			missing := missingDeadLetters(t, kafka, pills)
			if len(missing) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not dead-lettered with a reason:\n  %s", strings.Join(missing, "\n  "))
			}
			time.Sleep(500 * time.Millisecond)
		}
		if !sink.ready() {
			t.Error("sink not ready after the poison pills")
		}
	})
	t.Logf("chaos suite: %v", time.Since(began).Round(time.Second))
}

func getenv(t *testing.T, k string) string {
	t.Helper()
	return os.Getenv(k)
}

// pill is a poison message.
type pill struct {
	topic, key string
	value      []byte
}

// missingDeadLetters says which pills are not (yet) in DLQTopic(topic) with a reason, their key,
// and their original size and SHA-256.
func missingDeadLetters(t *testing.T, kafka streams.Cluster, pills []pill) []string {
	t.Helper()
	var missing []string
	byTopic := map[string][]streams.DeadLetter{}
	for _, p := range pills {
		if _, ok := byTopic[p.topic]; ok {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		dls, err := streams.ReadDeadLetters(ctx, kafka, streams.DLQTopic(p.topic))
		cancel()
		if err != nil {
			return []string{fmt.Sprintf("%s: %v", streams.DLQTopic(p.topic), err)}
		}
		byTopic[p.topic] = dls
	}
	for _, p := range pills {
		sum := sha256.Sum256(p.value)
		found := false
		for _, d := range byTopic[p.topic] {
			if string(d.Key) == p.key && d.Reason != "" && d.OriginalSize == len(p.value) && d.OriginalSHA256 == hex.EncodeToString(sum[:]) {
				found = true
				t.Logf("%s: %s dead-lettered at stage %s (%d bytes kept, truncated %v): %.120s", p.topic, p.key, d.Stage, len(d.Value), d.Truncated, d.Reason)
				break
			}
		}
		if !found {
			missing = append(missing, fmt.Sprintf("%s (%d bytes) in %s (%d dead letters there)", p.key, len(p.value), streams.DLQTopic(p.topic), len(byTopic[p.topic])))
		}
	}
	return missing
}

// maybeVerdict is a verdict whose label is "MAYBE": encoded with the real schema, then its label's
// enum index (PASS 0, FAIL 1) set to 2, as a producer with a newer schema would write it.
func maybeVerdict(t *testing.T, codecs *schemas.Codecs) []byte {
	t.Helper()
	v := schemas.Verdict{CandidateID: "poison-maybe", RequestID: "poison", ProblemID: "HumanEval/0", Label: schemas.Pass, FailureKind: schemas.KindNone}
	pass, err := codecs.Verdict.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	v.Label = schemas.Fail
	fail, err := codecs.Verdict.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	diff := -1
	for i := range pass {
		if pass[i] != fail[i] {
			if diff >= 0 || len(pass) != len(fail) {
				t.Fatal("PASS and FAIL encodings differ in more than one byte")
			}
			diff = i
		}
	}
	if diff < 0 || pass[diff] != 0 || fail[diff] != 2 {
		t.Fatalf("label byte not found (at %d)", diff)
	}
	pass[diff] = 4 // zigzag of enum index 2
	if _, err := codecs.Verdict.Decode(pass); err == nil {
		t.Fatal("the MAYBE verdict decodes")
	}
	return pass
}
