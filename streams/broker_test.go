package streams

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A member that dies while its JoinGroup is parked in a rebalance is answered on a dead connection;
// kfake then never starts its session timer, and the generation that follows gives it partitions
// that nobody reads, forever (see memberWatch). The embedded broker must evict it after its session
// timeout, as Kafka does, so that the survivor gets every partition. Each round has even odds of
// hitting the bug (kfake's reply races the closed connection), so the test runs several.
func TestBrokerEvictsMemberThatDiedInJoin(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	topic := uniqueName(t, "topic")
	createTopic(t, b, topic, 4, 1<<20)
	group := uniqueName(t, "group")
	const session, heartbeat, rebalance = time.Second, 100 * time.Millisecond, 2 * time.Second

	cg, err := newConsumerGroup(brokersOf(b), group, topic, groupTimeouts{session, heartbeat, rebalance}, kafkaLogAt(testLog(), slog.LevelDebug))
	if err != nil {
		t.Fatal(err)
	}
	type gen struct {
		id    int32
		parts []int
	}
	gens := make(chan gen, 100)
	stopping, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = joinGenerations(stopping, cg, brokersOf(b), testLog(), func() {}, func(gctx context.Context, kg *kafka.Generation) {
			parts, _ := assignedPartitions(kg, topic)
			gens <- gen{kg.ID, parts}
			<-gctx.Done()
		})
	}()
	t.Cleanup(func() {
		stop()
		_ = cg.Close()
		<-done
	})
	// whole waits for a generation that gives the survivor every partition.
	whole := func(within time.Duration, what string) {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case g := <-gens:
				t.Logf("generation %d: partitions %v", g.id, g.parts)
				if slices.Equal(g.parts, []int{0, 1, 2, 3}) {
					return
				}
			case <-deadline:
				t.Fatalf("%s: no generation with every partition within %v", what, within)
			}
		}
	}
	whole(20*time.Second, "first join")

	for round := 1; round <= 6; round++ {
		joinAndDie(t, b.Addr(), group, topic, session, rebalance)
		// The survivor rejoins at its next heartbeat, the generation completes with the dead member,
		// and the dead member must be gone one session timeout (plus the broker's margin) later.
		whole(session+rebalance+10*time.Second, "after a member died in JoinGroup")
	}
}

// joinAndDie joins group as a new member the way kafka-go does (JoinGroup without a member id,
// which the broker answers with one, then JoinGroup with it) and closes the connection while the
// second JoinGroup is parked in the rebalance it started, as a process killed then would.
func joinAndDie(t *testing.T, addr, group, topic string, session, rebalance time.Duration) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	meta.UserData = []byte{}
	join := kmsg.NewPtrJoinGroupRequest()
	join.SetVersion(5)
	join.Group = group
	join.SessionTimeoutMillis = int32(session / time.Millisecond)
	join.RebalanceTimeoutMillis = int32(rebalance / time.Millisecond)
	join.ProtocolType = "consumer"
	for _, name := range []string{"range", "roundrobin"} {
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name = name
		p.Metadata = meta.AppendTo(nil)
		join.Protocols = append(join.Protocols, p)
	}
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("doomed"))
	if _, err := conn.Write(f.AppendRequest(nil, join, 1)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(conn, body); err != nil {
		t.Fatal(err)
	}
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.SetVersion(5)
	if err := resp.ReadFrom(body[4:]); err != nil { // after the correlation id
		t.Fatal(err)
	}
	if kafka.Error(resp.ErrorCode) != kafka.MemberIDRequired {
		t.Fatalf("first JoinGroup: error %v, want MEMBER_ID_REQUIRED", kafka.Error(resp.ErrorCode))
	}
	join.MemberID = resp.MemberID
	if _, err := conn.Write(f.AppendRequest(nil, join, 2)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the broker has it: it parks it until the survivor rejoins
}
