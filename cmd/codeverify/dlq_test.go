package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/streams/kafkatest"
)

// Dead letters made by a real runner are listed, replayed by offset and by reason, and a truncated
// one is refused.
func TestDLQListAndReplay(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, cluster := kafkatest.Start(t)
	a := &app{Env: &config.Env{Config: config.Default(), Log: log}}
	a.Config.Brokers = cluster.Brokers
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const in, out = "dlqtest", "dlqtest-out"
	if err := streams.EnsureTopics(ctx, a.Cluster(), streams.Catalog{{Name: in, Partitions: 1}, {Name: streams.DLQTopic(in), Partitions: 1}, {Name: out, Partitions: 1}}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"not avro 1", "not avro 2", strings.Repeat("x", 8000)} {
		if err := streams.PublishRaw(ctx, a.Cluster(), in, []byte("k"), []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	codecs, err := schemas.NewCodecs()
	if err != nil {
		t.Fatal(err)
	}
	r, err := streams.NewRunner(streams.RunnerConfig[schemas.Candidate, schemas.Verdict]{
		Cluster: a.Cluster(), Group: "dlqtest-group", Input: in, Output: out, InCodec: codecs.Candidate, OutCodec: codecs.Verdict,
		OutKey: func(v schemas.Verdict) string { return v.CandidateID }, MaxMessageBytes: 6000, DeadLetterMaxBytes: 4096, Log: log,
	}, streams.ProcessorFunc[schemas.Candidate, schemas.Verdict](func(context.Context, schemas.Candidate) ([]schemas.Verdict, error) { return nil, nil }))
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	for r.Stats().DeadLettered < 3 {
		if ctx.Err() != nil {
			t.Fatal("the runner did not dead-letter the three inputs")
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	<-done

	run := func(args ...string) (string, error) {
		cmd := a.dlqCmd()
		var buf bytes.Buffer
		cmd.SetOut(&buf)
		cmd.SetErr(&buf)
		cmd.SetArgs(args)
		err := cmd.ExecuteContext(ctx)
		return buf.String(), err
	}
	list, err := run("list", in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"0:0", "0:1", "0:2", "decode", in + "/0@2", "8000", "true", "oversized", "3 dead letters"} {
		if !strings.Contains(list, want) {
			t.Errorf("dlq list lacks %q:\n%s", want, list)
		}
	}
	if _, err := run("replay", in, "--offsets", "2"); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("replaying a truncated dead letter: %v, want a refusal naming truncation", err)
	}
	if _, err := run("replay", in, "--offsets", "7"); err == nil || !strings.Contains(err.Error(), "no dead letter") {
		t.Errorf("replaying a missing offset: %v", err)
	}
	if _, err := run("replay", in); err == nil {
		t.Error("replay without --offsets or --all succeeded")
	}
	if msg, err := run("replay", in, "--offsets", "0"); err != nil || !strings.Contains(msg, "1 dead letters replayed") {
		t.Fatalf("replay --offsets 0: %v\n%s", err, msg)
	}
	// --all narrowed by reason: the two undecodable ones, not the oversized (truncated) one.
	if msg, err := run("replay", in, "--all", "--reason-contains", "decode"); err != nil || !strings.Contains(msg, "2 dead letters replayed") {
		t.Fatalf("replay --all --reason-contains: %v\n%s", err, msg)
	}
	var values []string
	tctx, tcancel := context.WithTimeout(ctx, 20*time.Second)
	defer tcancel()
	err = streams.Tail(tctx, a.Cluster(), in, 0, 3, func(m streams.Message) {
		values = append(values, string(m.Value))
		if len(values) == 3 {
			tcancel()
		}
	})
	if len(values) != 3 || values[0] != "not avro 1" || values[1] != "not avro 1" || values[2] != "not avro 2" {
		t.Fatalf("replayed values %q (tail: %v)", values, err)
	}
}
