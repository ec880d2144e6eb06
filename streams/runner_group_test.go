package streams

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/segmentio/kafka-go"
)

// Two members share the input; one crashes mid-stream. The survivor takes over its partitions from
// their committed offsets and every input ends up with a verdict.
func TestRunnerRebalanceAbortLosesNothing(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	in, out := pipelineTopics(t, b, 8)
	group := uniqueName(t, "group")
	const n, later = 600, 100
	var cs []schemas.Candidate
	for i := range n + later {
		c := candidate(i)
		c.ProblemID = fmt.Sprintf("q%d", i) // the key: spread over all partitions, so both members get work
		cs = append(cs, c)
	}
	publishCandidates(t, b, in, cs[:n]...)

	// 40 ms per input and 4 workers: about 100 inputs/s per member, so the stream is still running
	// when the second member has joined and the first crashes.
	r1, _ := countingRunner(t, b, group, in, out, 40*time.Millisecond)
	r2, _ := countingRunner(t, b, group, in, out, 40*time.Millisecond)
	stop1 := startRunner(t, r1)
	stop2 := startRunner(t, r2)
	waitFor(t, 30*time.Second, "both members at work", func() bool {
		s1, s2 := r1.Stats(), r2.Stats()
		if s1.Processed+s2.Processed >= n {
			t.Fatalf("one member did everything before the other joined: %+v, %+v", s1, s2)
		}
		return s1.Processed >= 20 && s2.Processed >= 20
	})
	r1.Abort()
	if err := stop1(); !errors.Is(err, ErrAborted) {
		t.Fatalf("Run after Abort: %v", err)
	}
	if p1, p2 := r1.Stats().Processed, r2.Stats().Processed; p1+p2 >= n {
		t.Fatalf("the crash came too late to test anything: %d + %d of %d done", p1, p2, n)
	}
	publishCandidates(t, b, in, cs[n:]...)
	waitFor(t, 40*time.Second, "every input has a verdict", func() bool {
		return len(countByID(readVerdicts(t, b, out))) == n+later
	})
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	got := countByID(readVerdicts(t, b, out))
	for _, c := range cs {
		if got[c.CandidateID] == 0 {
			t.Errorf("%s has no verdict", c.CandidateID)
		}
	}
	t.Logf("first member committed %d, survivor %d", r1.Stats().Processed, r2.Stats().Processed)
}

// createTopic creates a topic with a topic-level max.message.bytes.
func createTopic(t *testing.T, b *Broker, name string, partitions, maxMessageBytes int) {
	t.Helper()
	conn, err := kafka.DialContext(testCtx(t, 10*time.Second), "tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.CreateTopics(kafka.TopicConfig{
		Topic: name, NumPartitions: partitions, ReplicationFactor: -1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: fmt.Sprint(maxMessageBytes)}},
	}); err != nil {
		t.Fatal(err)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Poison pills near and over the broker's limits (1,048,588 bytes by default): their dead letters
// are written, sized to fit, and the inputs behind them are processed.
func TestRunnerDeadLettersAlwaysFit(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	in, out := uniqueName(t, "candidates"), uniqueName(t, "verdicts")
	createTopic(t, b, in, 1, 8<<20) // the input's limit raised for the 5 MB message
	if err := EnsureTopics(testCtx(t, 10*time.Second), brokersOf(b), Catalog{{Name: DLQTopic(in), Partitions: 1}, {Name: out, Partitions: 1}}); err != nil {
		t.Fatal(err)
	}
	junk := func(n int) kafka.Message { // 0xff… is no avro record: a varint that never ends
		return kafka.Message{Key: []byte("junk"), Value: bytes.Repeat([]byte{0xff}, n)}
	}
	sizes := []int{600_000, 600_000, 1_048_376, 5 << 20}
	for _, n := range sizes {
		publishRaw(t, b, in, junk(n))
	}
	const good = 10
	cs := candidates(good)
	publishCandidates(t, b, in, cs...)

	cfg := verdictRunnerConfig(t, b, uniqueName(t, "group"), in, out)
	// Batches above the broker's limit: two 600 KB dead letters go out together, are refused as
	// too large, and must be split.
	cfg.MaxWriteBytes = 4 << 20
	r, err := NewRunner(cfg, ProcessorFunc[schemas.Candidate, schemas.Verdict](toVerdict))
	if err != nil {
		t.Fatal(err)
	}
	stop := startRunner(t, r)
	waitFor(t, 30*time.Second, "dead letters and good inputs", func() bool {
		s := r.Stats()
		return s.DeadLettered == int64(len(sizes)) && s.Processed == good
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	dls, err := ReadDeadLetters(testCtx(t, 10*time.Second), brokersOf(b), DLQTopic(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != len(sizes) {
		t.Fatalf("%d dead letters, want %d", len(dls), len(sizes))
	}
	for i, d := range dls {
		orig := junk(sizes[i]).Value
		if d.SourceOffset != int64(i) || d.OriginalSize != len(orig) || d.OriginalSHA256 != sha256Hex(orig) {
			t.Errorf("dead letter %d: offset %d, size %d, sha %s; want %d, %d, %s", i, d.SourceOffset, d.OriginalSize, d.OriginalSHA256, i, len(orig), sha256Hex(orig))
		}
		if fits := len(orig) <= DefaultMaxWriteBytes-2*recordOverhead; d.Truncated == fits {
			t.Errorf("dead letter %d of a %d-byte value: truncated %v", i, len(orig), d.Truncated)
		}
		if !bytes.HasPrefix(orig, d.Value) || len(d.Key)+len(d.Value) > DefaultMaxWriteBytes {
			t.Errorf("dead letter %d: %d value bytes, not a prefix of the original or too large", i, len(d.Value))
		}
	}
	if dls[3].Reason != ReasonOversized {
		t.Errorf("5 MB input: reason %q, want %q", dls[3].Reason, ReasonOversized)
	}
}

// routed is an output of one of two kinds, for two topics with two codecs.
type routed struct {
	Verdict *schemas.Verdict
	Echo    *schemas.Candidate
}

// One input, outputs to two topics; an output too large for its topic is replaced by a dead letter
// naming it, and the input's other output is still written.
func TestRunnerRoutesOutputsToSeveralTopics(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	in, out := pipelineTopics(t, b, 2)
	echo := uniqueName(t, "echo")
	if err := EnsureTopics(testCtx(t, 10*time.Second), brokersOf(b), Catalog{{Name: echo, Partitions: 2}}); err != nil {
		t.Fatal(err)
	}
	const n = 20
	cs := candidates(n)
	publishCandidates(t, b, in, cs...)
	// Echoes of these two are too large: 2 MB is refused by the broker, 5 MB already by the writer.
	huge := map[string]int{cs[3].CandidateID: 2 << 20, cs[11].CandidateID: 5 << 20}

	codecs := testCodecs(t)
	cfg := RunnerConfig[schemas.Candidate, routed]{
		Cluster: brokersOf(b), Group: uniqueName(t, "group"), Input: in, InCodec: codecs.Candidate,
		Route: func(o routed) (Record, error) {
			if o.Verdict != nil {
				return EncodeRecord(out, codecs.Verdict, o.Verdict.CandidateID, *o.Verdict)
			}
			return EncodeRecord(echo, codecs.Candidate, o.Echo.ProblemID, *o.Echo)
		},
		Workers: 4, MaxWriteBytes: 4 << 20, DrainTimeout: 5 * time.Second, Log: testLog(),
	}
	r, err := NewRunner(cfg, ProcessorFunc[schemas.Candidate, routed](func(_ context.Context, c schemas.Candidate) ([]routed, error) {
		v := verdictOf(c)
		e := c
		if size, ok := huge[c.CandidateID]; ok {
			e.Code = strings.Repeat("x", size)
		}
		return []routed{{Verdict: &v}, {Echo: &e}}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	stop := startRunner(t, r)
	waitFor(t, 30*time.Second, "all inputs", func() bool { return r.Stats().Processed == n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := countByID(readVerdicts(t, b, out)); len(got) != n {
		t.Errorf("%d verdicts, want %d", len(got), n)
	}
	echoes, bad, err := ReadAll(testCtx(t, 10*time.Second), brokersOf(b), echo, codecs.Candidate)
	if err != nil || bad != 0 {
		t.Fatal(err, bad)
	}
	if len(echoes) != n-len(huge) {
		t.Errorf("%d echoes, want %d", len(echoes), n-len(huge))
	}
	dls, err := ReadDeadLetters(testCtx(t, 10*time.Second), brokersOf(b), DLQTopic(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != len(huge) {
		t.Fatalf("%d dead letters, want %d", len(dls), len(huge))
	}
	for _, d := range dls {
		c, err := codecs.Candidate.Decode(d.Value) // the input, whole: it is small
		if err != nil {
			t.Fatal(err)
		}
		if d.Stage != StageWrite || d.OutputTopic != echo || d.OutputSize < huge[c.CandidateID] {
			t.Errorf("dead letter for %s: stage %q, output %q of %d bytes", c.CandidateID, d.Stage, d.OutputTopic, d.OutputSize)
		}
	}
}

// A runner and a table started while the broker is down wait for it and then proceed.
func TestRunnerAndTableWaitForTheBroker(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b, err := StartBroker(dir, 0, testLog())
	if err != nil {
		t.Fatal(err)
	}
	in, out := pipelineTopics(t, b, 2)
	const n = 30
	cs := candidates(n)
	publishCandidates(t, b, in, cs...)
	addr := b.Addr()
	b.Close()

	r, _ := countingRunner(t, b, uniqueName(t, "group"), in, out, 0)
	stop := startRunner(t, r)
	table, err := NewTable(TableConfig[schemas.Candidate]{Cluster: Cluster{Brokers: []string{addr}}, Topic: in, Codec: testCodecs(t).Candidate, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithCancel(context.Background())
	tableDone := make(chan error, 1)
	go func() { tableDone <- table.Run(tctx) }()
	defer func() {
		cancel()
		<-tableDone
	}()

	waitFor(t, 10*time.Second, "failed attempts to join", func() bool { return r.Stats().Errors >= 2 })
	select {
	case <-table.CaughtUp():
		t.Fatal("table caught up without a broker")
	default:
	}

	port := addr[strings.LastIndex(addr, ":")+1:]
	var p int
	fmt.Sscan(port, &p)
	b, err = StartBroker(dir, p, testLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	waitFor(t, 30*time.Second, "every input processed", func() bool { return r.Stats().Processed == n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := table.WaitCaughtUp(testCtx(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	if table.Len() != 5 { // keyed by problem id: p0…p4
		t.Errorf("table has %d keys, want 5", table.Len())
	}
}
