package streams

import (
	"context"
	"crypto/tls"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams/tlstest"
)

// startSecureBroker starts an in-memory broker with the given security.
func startSecureBroker(t testing.TB, opts ...BrokerOption) *Broker {
	t.Helper()
	b, err := StartBroker("", 0, testLog(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// TestSecureClusters runs every kind of connection the package makes (admin, producer, group
// runner with its writer, table, batch consumer, whole-topic read) against a broker that requires
// TLS, SASL or both.
func TestSecureClusters(t *testing.T) {
	ca := tlstest.NewCA(t)
	clientTLS := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	for _, tc := range []struct {
		name   string
		tls    bool
		user   SASL
		broker []BrokerOption
	}{
		{name: "tls", tls: true},
		{name: "plain-over-tls", tls: true, user: SASL{Mechanism: "plain", Username: "alice", Password: "pa55"}},
		{name: "scram-sha-256", user: SASL{Mechanism: SASLScramSHA256, Username: "bob", Password: "s3cret"}},
		{name: "scram-sha-512-over-tls", tls: true, user: SASL{Mechanism: SASLScramSHA512, Username: "carol", Password: "an0ther"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var opts []BrokerOption
			var sec Security
			if tc.tls {
				opts = append(opts, BrokerTLS(ca.ServerConfig(t)))
				sec.TLS = clientTLS
			}
			if tc.user.Mechanism != "" {
				opts = append(opts, BrokerUser(tc.user))
				sec.SASL = tc.user
			}
			b := startSecureBroker(t, opts...)
			exerciseCluster(t, Cluster{Brokers: []string{b.Addr()}, Security: sec})
		})
	}
}

func exerciseCluster(t *testing.T, c Cluster) {
	ctx := testCtx(t, 60*time.Second)
	codecs := testCodecs(t)
	in, out, table := uniqueName(t, "in"), uniqueName(t, "out"), uniqueName(t, "table")
	cat := Catalog{
		{Name: in, Partitions: 2}, {Name: DLQTopic(in), Partitions: 1}, {Name: out, Partitions: 2},
		{Name: DLQTopic(out), Partitions: 1}, {Name: table, Partitions: 1, Compacted: true},
	}
	if err := EnsureTopics(ctx, c, cat); err != nil {
		t.Fatal(err)
	}
	if err := Reachable(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}

	const n = 20
	cands := make([]schemas.Candidate, n)
	for i := range cands {
		cands[i] = candidate(i)
	}
	p := NewProducer(c, in, codecs.Candidate, func(v schemas.Candidate) string { return v.ProblemID })
	defer p.Close()
	if err := p.Publish(ctx, cands...); err != nil {
		t.Fatal(err)
	}
	tp := NewProducer(c, table, codecs.Candidate, func(v schemas.Candidate) string { return v.CandidateID })
	defer tp.Close()
	if err := tp.Publish(ctx, cands[:5]...); err != nil {
		t.Fatal(err)
	}

	// A runner stage: candidates in, verdicts out, through a consumer group.
	r, err := NewRunner(RunnerConfig[schemas.Candidate, schemas.Verdict]{
		Cluster: c, Group: uniqueName(t, "runner"), Input: in, Output: out,
		InCodec: codecs.Candidate, OutCodec: codecs.Verdict, OutKey: func(v schemas.Verdict) string { return v.CandidateID },
		SessionTimeout: 2 * time.Second, HeartbeatInterval: 200 * time.Millisecond, Log: testLog(),
	}, ProcessorFunc[schemas.Candidate, schemas.Verdict](func(_ context.Context, c schemas.Candidate) ([]schemas.Verdict, error) {
		return []schemas.Verdict{verdictOf(c)}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	rctx, stopRunner := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(rctx) }()

	// A batch consumer of the runner's output.
	var mu sync.Mutex
	seen := map[string]bool{}
	all := make(chan struct{})
	bctx, stopBatches := context.WithCancel(ctx)
	batchErr := make(chan error, 1)
	go func() {
		batchErr <- RunBatches(bctx, BatchConfig[schemas.Verdict]{
			Cluster: c, Group: uniqueName(t, "sink"), Topic: out, Codec: codecs.Verdict, MaxWait: 50 * time.Millisecond,
			SessionTimeout: 2 * time.Second, HeartbeatInterval: 200 * time.Millisecond, Log: testLog(),
		}, func(_ context.Context, batch []schemas.Verdict) error {
			mu.Lock()
			defer mu.Unlock()
			for _, v := range batch {
				seen[v.CandidateID] = true
			}
			if len(seen) == n {
				close(all)
			}
			return nil
		})
	}()

	// A table of the compacted topic.
	tbl, err := NewTable(TableConfig[schemas.Candidate]{Cluster: c, Topic: table, Codec: codecs.Candidate, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	tctx, stopTable := context.WithCancel(ctx)
	tableErr := make(chan error, 1)
	go func() { tableErr <- tbl.Run(tctx) }()
	if err := tbl.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	if tbl.Len() != 5 {
		t.Errorf("table holds %d rows, want 5", tbl.Len())
	}

	select {
	case <-all:
	case <-ctx.Done():
		t.Fatalf("batch consumer saw %d of %d verdicts", len(seen), n)
	}
	stopRunner()
	stopBatches()
	stopTable()
	for what, ch := range map[string]chan error{"runner": runErr, "batches": batchErr, "table": tableErr} {
		if err := <-ch; err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}

	// Whole-topic reads (readers of each partition) and replay.
	vs, bad, err := ReadAll(ctx, c, out, codecs.Verdict)
	if err != nil || bad != 0 || len(vs) < n {
		t.Fatalf("ReadAll: %d verdicts, %d bad, %v", len(vs), bad, err)
	}
	ranges, _, err := Replay(ctx, c, in, codecs.Candidate, ReplayFrom{}, func(schemas.Candidate, ReplayRecord) {}, nil)
	if err != nil || len(ranges) != 2 {
		t.Fatalf("Replay: %v, %v", ranges, err)
	}
	if err := PublishRaw(ctx, c, DLQTopic(in), []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if dls, err := ReadDeadLetters(ctx, c, DLQTopic(in)); err != nil || len(dls) != 1 {
		t.Fatalf("ReadDeadLetters: %d, %v", len(dls), err)
	}
}

// TestSecurityFailuresAreQuickAndClear: what retrying cannot cure ends at once, with an error that
// says what is wrong, instead of a retry loop until the deadline.
func TestSecurityFailuresAreQuickAndClear(t *testing.T) {
	ca := tlstest.NewCA(t)
	clientTLS := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	plainUser := SASL{Mechanism: SASLPlain, Username: "alice", Password: "Pw-Right-1"}
	scramUser := SASL{Mechanism: SASLScramSHA512, Username: "bob", Password: "Pw-Right-1"}
	tlsPlain := startSecureBroker(t, BrokerTLS(ca.ServerConfig(t)), BrokerUser(plainUser))
	scram := startSecureBroker(t, BrokerUser(scramUser))
	tlsOnly := startSecureBroker(t, BrokerTLS(ca.ServerConfig(t)))
	plaintext := startBroker(t)
	otherCA := tlstest.NewCA(t)

	wrong := func(u SASL) SASL { u.Password = "Pw-Wrong-2"; return u }
	for _, tc := range []struct {
		name string
		c    Cluster
		want string
	}{
		{"plain wrong password", Cluster{[]string{tlsPlain.Addr()}, Security{TLS: clientTLS, SASL: wrong(plainUser)}}, "SASL authentication failed"},
		{"scram wrong password", Cluster{[]string{scram.Addr()}, Security{SASL: wrong(scramUser)}}, "SASL authentication failed"},
		{"no TLS against a TLS broker", Cluster{[]string{tlsOnly.Addr()}, Security{}}, "no TLS configured"},
		{"no SASL against a SASL broker", Cluster{[]string{scram.Addr()}, Security{}}, "requires SASL"},
		{"TLS against a plaintext broker", Cluster{[]string{plaintext.Addr()}, Security{TLS: clientTLS}}, "speaks plaintext Kafka"},
		{"untrusted broker certificate", Cluster{[]string{tlsOnly.Addr()}, Security{TLS: &tls.Config{RootCAs: otherCA.Pool()}}}, "not trusted"},
		{"wrong server name", Cluster{[]string{tlsOnly.Addr()}, Security{TLS: &tls.Config{RootCAs: ca.Pool(), ServerName: "kafka.example.com"}}}, "another name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t, 30*time.Second)
			check := func(what string, err error, start time.Time) {
				t.Helper()
				if took := time.Since(start); took > 8*time.Second {
					t.Errorf("%s: took %s", what, took)
				}
				if !errors.Is(err, ErrSecurity) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: want ErrSecurity saying %q, got %v", what, tc.want, err)
				}
				if err != nil && strings.Contains(err.Error(), "Pw-") {
					t.Errorf("%s: the error shows a password: %v", what, err)
				}
			}
			start := time.Now()
			check("EnsureTopics", EnsureTopics(ctx, tc.c, Catalog{{Name: "t", Partitions: 1}}), start)

			start = time.Now()
			check("Check", tc.c.Check(ctx), start)

			start = time.Now()
			r, err := NewRunner(RunnerConfig[schemas.Candidate, schemas.Candidate]{
				Cluster: tc.c, Group: "g", Input: "t", Output: "t2", InCodec: testCodecs(t).Candidate, OutCodec: testCodecs(t).Candidate,
				OutKey: func(c schemas.Candidate) string { return c.CandidateID }, Log: testLog(),
			}, ProcessorFunc[schemas.Candidate, schemas.Candidate](func(_ context.Context, c schemas.Candidate) ([]schemas.Candidate, error) {
				return nil, nil
			}))
			if err != nil {
				t.Fatal(err)
			}
			check("Runner.Run", r.Run(ctx), start)

			tbl, err := NewTable(TableConfig[schemas.Candidate]{Cluster: tc.c, Topic: "t", Codec: testCodecs(t).Candidate, Log: testLog()})
			if err != nil {
				t.Fatal(err)
			}
			start = time.Now()
			check("Table.Run", tbl.Run(ctx), start)
		})
	}
}

func TestSecurityValidation(t *testing.T) {
	for _, tc := range []struct {
		sasl SASL
		want string
	}{
		{SASL{Mechanism: "GSSAPI", Username: "u", Password: "p"}, `unknown mechanism "GSSAPI"`},
		{SASL{Mechanism: "scram-sha-256", Username: "u"}, "no password"},
		{SASL{Mechanism: "PLAIN"}, "no username and no password"},
		{SASL{Username: "u", Password: "p"}, "no mechanism"},
	} {
		err := tc.sasl.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: want %q, got %v", tc.sasl.Mechanism, tc.want, err)
		}
	}
	s := Security{SASL: SASL{Mechanism: "plain", Username: "u", Password: "hunter2"}}
	for _, text := range []string{s.String(), s.SASL.String(), s.LogValue().String(), s.SASL.GoString()} {
		if strings.Contains(text, "hunter2") {
			t.Errorf("password shown: %s", text)
		}
	}

	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	caFile := ca.WriteCA(t, dir)
	certFile, keyFile := ca.WriteClient(t, dir, "client")
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err := (TLSFiles{}).Load(); cfg != nil || err != nil {
		t.Errorf("no TLS settings: want nil, nil; got %v, %v", cfg, err)
	}
	cfg, err := TLSFiles{CAFile: caFile, CertFile: certFile, KeyFile: keyFile, ServerName: "kafka"}.Load()
	if err != nil || cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.ServerName != "kafka" || cfg.InsecureSkipVerify {
		t.Errorf("full TLS settings: %+v, %v", cfg, err)
	}
	for _, tc := range []struct {
		f    TLSFiles
		want string
	}{
		{TLSFiles{CAFile: filepath.Join(dir, "missing.pem")}, "missing.pem: no such file"},
		{TLSFiles{CAFile: junk}, "no PEM certificate"},
		{TLSFiles{CertFile: certFile}, "key_file is not"},
		{TLSFiles{KeyFile: keyFile}, "cert_file is not"},
		{TLSFiles{CertFile: certFile, KeyFile: junk}, "junk.pem"},
	} {
		if _, err := tc.f.Load(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: want %q, got %v", tc.f, tc.want, err)
		}
	}
}

// TestOneDialSite holds the line connect.go draws: nothing else in the package makes a kafka-go
// connection, reader, consumer group, writer, transport or client, so none can miss the cluster's
// Security. (Reader and group configs may be written elsewhere: Cluster.newReader and
// newConsumerGroup set their Dialer.)
func TestOneDialSite(t *testing.T) {
	dialers := map[string]bool{
		"Dial": true, "DialContext": true, "DialLeader": true, "DialPartition": true, "NewConn": true, "NewConnWith": true,
		"Dialer": true, "DefaultDialer": true, "Transport": true, "DefaultTransport": true, "NewReader": true,
		"NewConsumerGroup": true, "Writer": true, "NewWriter": true, "Client": true, "TCP": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "connect.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Type names in declarations (fields, parameters) are fine: calls and literals are what
		// make connections.
		ast.Inspect(f, func(n ast.Node) bool {
			var fun ast.Expr
			switch x := n.(type) {
			case *ast.CallExpr:
				fun = x.Fun
			case *ast.CompositeLit:
				fun = x.Type
			default:
				return true
			}
			if sel, ok := fun.(*ast.SelectorExpr); ok {
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "kafka" && dialers[sel.Sel.Name] {
					t.Errorf("%s: kafka.%s outside connect.go: build it with the Cluster's methods there", fset.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
	}
}
