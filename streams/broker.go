package streams

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Broker is an in-process Kafka-protocol broker (kfake) listening on 127.0.0.1.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
	watch   *memberWatch
}

// BrokerOption secures the embedded broker (for tests of secured clusters).
type BrokerOption func(*brokerSecurity)

type brokerSecurity struct {
	tls   *tls.Config
	users []SASL
}

// BrokerTLS makes the broker accept TLS connections only, with cfg as the listener's configuration
// (Certificates[0] is its certificate). A listener that requires client certificates leaves the
// broker's member watch (see memberWatch) unable to connect.
func BrokerTLS(cfg *tls.Config) BrokerOption {
	return func(s *brokerSecurity) { s.tls = cfg }
}

// BrokerUser adds an account and makes the broker require SASL authentication on every connection.
// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; a user may be added once per mechanism.
func BrokerUser(u SASL) BrokerOption {
	return func(s *brokerSecurity) { s.users = append(s.users, u) }
}

// StartBroker starts a single-node broker. port 0 picks a free port; dataDir "" keeps everything in
// memory, otherwise topics, records and committed group offsets survive a restart on the same dir.
// Without options it is plaintext and unauthenticated.
func StartBroker(dataDir string, port int, log *slog.Logger, options ...BrokerOption) (*Broker, error) {
	if log == nil {
		log = slog.Default()
	}
	var sec brokerSecurity
	for _, o := range options {
		o(&sec)
	}
	opts := []kfake.Opt{
		kfake.Ports(port), // one port = one broker, so every partition has the same leader
		kfake.AllowAutoTopicCreation(),
		// Kafka's default minimum (6s) would forbid the short session timeouts that make a killed
		// member's partitions move within a second or two in tests; members still default to 6s.
		kfake.GroupMinSessionTimeout(500 * time.Millisecond),
		kfake.WithLogger(kfakeLogger{log.With("component", "kfake")}),
	}
	if dataDir != "" {
		opts = append(opts, kfake.DataDir(dataDir))
	}
	self, secOpts, err := sec.apply()
	if err != nil {
		return nil, fmt.Errorf("start broker: %w", err)
	}
	opts = append(opts, secOpts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start broker: %w", err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) != 1 {
		c.Close()
		return nil, fmt.Errorf("start broker: want 1 listen address, got %v", addrs)
	}
	w := watchMembers(c, Cluster{Brokers: addrs, Security: self}, log.With("component", "member-watch"))
	log.Info("broker started", "addr", addrs[0], "data_dir", dataDir, "security", self)
	return &Broker{cluster: c, addr: addrs[0], watch: w}, nil
}

// apply returns kfake's options for the security, and the client Security the broker's own
// connections to itself (the member watch) use: the first user's account, and TLS that trusts
// exactly the listener's own certificate.
func (s brokerSecurity) apply() (self Security, opts []kfake.Opt, err error) {
	if s.tls != nil {
		opts = append(opts, kfake.TLS(s.tls))
		if len(s.tls.Certificates) == 0 || len(s.tls.Certificates[0].Certificate) == 0 {
			return self, nil, errors.New("broker TLS config has no certificate")
		}
		own := s.tls.Certificates[0].Certificate[0]
		self.TLS = &tls.Config{
			MinVersion: tls.VersionTLS12,
			// The name check is replaced by pinning: the only acceptable peer is this listener.
			InsecureSkipVerify: true,
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) == 0 || !bytes.Equal(raw[0], own) {
					return errors.New("not the embedded broker's own certificate")
				}
				return nil
			},
		}
	}
	if len(s.users) > 0 {
		opts = append(opts, kfake.EnableSASL())
		for _, u := range s.users {
			u.Mechanism = mechanismName(u.Mechanism)
			if err := u.Validate(); err != nil {
				return self, nil, fmt.Errorf("broker user: %w", err)
			}
			opts = append(opts, kfake.Superuser(u.Mechanism, u.Username, u.Password))
		}
		self.SASL = s.users[0]
	}
	return self, opts, nil
}

// Addr is the broker's "127.0.0.1:port".
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker; with a data dir it first persists its state (including committed offsets).
func (b *Broker) Close() {
	b.watch.stop() // before the cluster: a GroupInfo call on a closed cluster never returns
	b.cluster.Close()
}

// kfakeLogger routes kfake's logs to slog; its info level is chatty, so it becomes debug.
type kfakeLogger struct{ log *slog.Logger }

func (l kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	lvl := slog.LevelDebug
	switch level {
	case kfake.LogLevelError:
		lvl = slog.LevelError
	case kfake.LogLevelWarn:
		lvl = slog.LevelWarn
	}
	ctx := context.Background()
	if l.log.Enabled(ctx, lvl) { // skip formatting the per-request chatter nobody reads
		l.log.Log(ctx, lvl, fmt.Sprintf(format, args...))
	}
}

// memberWatch works around a kfake bug: a classic-group member that dies while its JoinGroup is
// parked in a rebalance is never expired. kfake starts a member's session timer when it answers
// the member's JoinGroup (group.reply → updateHeartbeat), but only if the answer could be handed
// to the connection; a member killed while parked has a closed connection, so the answer is
// dropped and no timer starts (the pending timer was stopped when the member joined). If the
// survivors then complete the rebalance (the leader's SyncGroup ends the pending-sync timer that
// would otherwise remove it), the group is Stable with a member that never heartbeats, owns its
// share of the partitions and is never removed: those partitions are never consumed again, and
// the survivors get no new generation. Kafka starts the session timer of every member when the
// join completes, whether or not the answer reached it (GroupCoordinator.onCompleteJoin), so a
// real broker expires such a member after its session timeout. The chaos suite hit it by killing
// the sink repeatedly within two seconds of its restarts (docs/failure-modes.md).
//
// memberWatch gives those members the session timeout kfake forgot: it notes when each member
// last spoke (JoinGroup, SyncGroup, Heartbeat, OffsetCommit: what Kafka counts as liveness), and
// the session timeout it joined with; the clock restarts at each new generation, as Kafka's
// does when a join completes. A member of a Stable group silent for longer than its session
// timeout plus a margin (kfake's own timer, when it has one, fires first) is made to leave the
// group with a LeaveGroup on its behalf, which rebalances the group as an expiry would. Only
// Stable groups are watched: in a rebalance kfake's own rebalance and pending-sync timers remove
// members that do not rejoin or sync. Its cost is a control hook on the group requests (not on
// produce or fetch) and a GroupInfo call per known group per poll.
type memberWatch struct {
	cluster   *kfake.Cluster
	client    *kafka.Client
	transport *kafka.Transport
	log       *slog.Logger
	cancel    context.CancelFunc
	done      chan struct{}

	mu     sync.Mutex
	groups map[string]*watchedGroup
}

type watchedGroup struct {
	generation int32
	members    map[string]*watchedMember
}

type watchedMember struct {
	spoke   time.Time     // last request, or the start of the current generation if later
	session time.Duration // from its last JoinGroup; 0 if none seen
}

const (
	memberWatchPoll = 250 * time.Millisecond
	// A member kfake expires itself is gone after its session timeout; the watch waits longer so
	// that it only acts on the ones kfake forgot.
	memberWatchMargin = time.Second
	// The session timeout assumed for a member whose JoinGroup was not seen (kafka-go's default).
	memberWatchDefaultSession = 30 * time.Second
)

func watchMembers(c *kfake.Cluster, self Cluster, log *slog.Logger) *memberWatch {
	ctx, cancel := context.WithCancel(context.Background())
	client, tr := self.newClient(self.Brokers[0], 5*time.Second)
	w := &memberWatch{
		cluster:   c,
		client:    client,
		transport: tr,
		log:       log,
		cancel:    cancel,
		done:      make(chan struct{}),
		groups:    map[string]*watchedGroup{},
	}
	// Observe only (handled=false): kfake then handles the request as usual. KeepControl is not
	// needed for a function that never handles a request.
	for _, key := range []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.OffsetCommit, kmsg.LeaveGroup} {
		c.ControlKey(int16(key), func(req kmsg.Request) (kmsg.Response, error, bool) {
			w.observe(req)
			return nil, nil, false
		})
	}
	go w.run(ctx)
	return w
}

func (w *memberWatch) stop() {
	w.cancel()
	<-w.done
	w.transport.CloseIdleConnections()
}

// observe notes a group request; it runs on kfake's loop, so it only takes the watch's lock.
func (w *memberWatch) observe(req kmsg.Request) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	spoke := func(group, member string, session time.Duration) {
		if group == "" || member == "" {
			return
		}
		g := w.groups[group]
		if g == nil {
			g = &watchedGroup{generation: -1, members: map[string]*watchedMember{}}
			w.groups[group] = g
		}
		m := g.members[member]
		if m == nil {
			m = &watchedMember{}
			g.members[member] = m
		}
		m.spoke = now
		if session > 0 {
			m.session = session
		}
	}
	switch r := req.(type) {
	case *kmsg.JoinGroupRequest:
		spoke(r.Group, r.MemberID, time.Duration(r.SessionTimeoutMillis)*time.Millisecond)
	case *kmsg.SyncGroupRequest:
		spoke(r.Group, r.MemberID, 0)
	case *kmsg.HeartbeatRequest:
		spoke(r.Group, r.MemberID, 0)
	case *kmsg.OffsetCommitRequest:
		spoke(r.Group, r.MemberID, 0)
	case *kmsg.LeaveGroupRequest:
		if g := w.groups[r.Group]; g != nil {
			delete(g.members, r.MemberID)
			for _, m := range r.Members {
				delete(g.members, m.MemberID)
			}
		}
	}
}

func (w *memberWatch) run(ctx context.Context) {
	defer close(w.done)
	t := time.NewTicker(memberWatchPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		names := make([]string, 0, len(w.groups))
		for name := range w.groups {
			names = append(names, name)
		}
		w.mu.Unlock()
		for _, name := range names {
			if ctx.Err() != nil {
				return
			}
			info := w.cluster.GroupInfo(name) // not under mu: it waits for kfake's loop
			for _, member := range w.expired(name, info, time.Now()) {
				w.evict(ctx, name, member)
			}
		}
	}
}

// expired updates the watch of group from its state info (nil: no such group) and returns the
// members to evict.
func (w *memberWatch) expired(group string, info *kfake.GroupInfo, now time.Time) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	g := w.groups[group]
	if g == nil {
		return nil
	}
	if info == nil {
		delete(w.groups, group)
		return nil
	}
	in := make(map[string]bool, len(info.Members))
	for _, m := range info.Members {
		in[m.MemberID] = true
		if g.members[m.MemberID] == nil { // joined before the watch saw it speak
			g.members[m.MemberID] = &watchedMember{spoke: now}
		}
	}
	if info.Epoch != g.generation { // a join completed: every session timer restarts
		g.generation = info.Epoch
		for _, m := range g.members {
			m.spoke = now
		}
	}
	var out []string
	for id, m := range g.members {
		session := m.session
		if session == 0 {
			session = memberWatchDefaultSession
		}
		silent := now.Sub(m.spoke)
		switch {
		case !in[id]:
			// Not (or no longer) a member: kfake removed it, or it is between its two JoinGroups.
			if silent > 2*session {
				delete(g.members, id)
			}
		case info.State == "Stable" && silent > session+memberWatchMargin:
			out = append(out, id)
			m.spoke = now // once per session timeout at most, should the leave fail
		}
	}
	if len(g.members) == 0 && len(info.Members) == 0 {
		delete(w.groups, group)
	}
	return out
}

// evict makes member leave group, as the expiry of its session would.
func (w *memberWatch) evict(ctx context.Context, group, member string) {
	w.log.Warn("evicting a group member silent past its session timeout (kfake stopped watching it)",
		"group", group, "member", member)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := w.client.LeaveGroup(ctx, &kafka.LeaveGroupRequest{
		GroupID: group, Members: []kafka.LeaveGroupRequestMember{{ID: member}},
	})
	switch {
	case err != nil:
		w.log.Warn("evicting a group member failed", "group", group, "member", member, "err", err)
	case resp.Error != nil:
		w.log.Warn("evicting a group member failed", "group", group, "member", member, "err", resp.Error)
	}
}
