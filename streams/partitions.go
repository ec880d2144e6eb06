package streams

import (
	"reflect"
	"sync"
)

// What kafka-go v0.4.51's group Reader does on a rebalance, and so what the runner can and cannot do:
//
//   - It offers no revocation callback and no way to ask for the current assignment or generation.
//     The only trace of a new assignment is the line it logs right after subscribing, through
//     ReaderConfig.Logger, with the partitions and their start offsets as the argument. The runner
//     reads that argument (assignment.observe); if a kafka-go upgrade changes it, the runner logs a
//     warning and goes on without revocation knowledge (commits still never cover unfinished work).
//   - When a generation ends it stops the partition readers and, for the new generation, starts new
//     ones at the group's committed offsets. FetchMessage drops buffered messages of an older
//     generation, except where a FetchMessage call that began before the switch returns one. So a
//     retained partition is read again from its committed offset: fetched-but-uncommitted inputs
//     come a second time. The runner sees a partition's offset go backwards and starts that
//     partition's tracking afresh (the old copies are neither written nor committed).
//   - CommitMessages is handed to whatever generation's commit loop is running when it is called
//     and is sent with that generation's id; the broker does not check that the committing member
//     owns the partition. So a commit for a partition revoked a moment ago succeeds and can move the
//     new owner's committed offset (back: duplicates; forward: only over inputs we finished, since
//     we commit nothing else). The runner checks the assignment before writing and before every
//     commit attempt, which leaves only the window between that check and the broker receiving
//     the commit (and a commit queued while no generation runs, sent with the next one's id).
//     Closing it needs kafka.ConsumerGroup with per-partition readers, whose Generation exposes
//     Assignments, ends its context on revocation, and commits with its own (then stale) id.
//   - When a generation ends, a commit already queued is sent with the old generation's id and
//     fails; the runner retries it only if the partition is still assigned.

// subscribedFormat is the log line kafka-go's Reader prints after joining a generation; its argument
// is a map from an unexported {topic string; partition int32} struct to the start offset.
const subscribedFormat = "subscribed to topics and partitions: %+v"

// assignment is the set of input partitions the group gave this runner, as far as kafka-go lets us
// know it (see above). It is written by kafka-go's goroutine and read by the sink.
type assignment struct {
	topic string
	mu    sync.Mutex
	gen   int          // how many assignments were seen
	parts map[int]bool // nil: not known (none seen yet, or kafka-go's log line changed)
}

// observe is called with every kafka-go log line; it reports whether the line was an assignment
// whose argument could be read.
func (a *assignment) observe(format string, args []any) (parts map[int]bool, ok bool) {
	if format != subscribedFormat || len(args) != 1 {
		return nil, false
	}
	parts, ok = assignedPartitions(a.topic, args[0])
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gen++
	a.parts = parts // nil when unreadable: better no revocation knowledge than a wrong one
	return parts, ok
}

func (a *assignment) snapshot() (gen int, parts map[int]bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gen, a.parts
}

// owns reports whether partition p may be written and committed: it is assigned, or nothing is known.
func (a *assignment) owns(p int) bool {
	_, parts := a.snapshot()
	return parts == nil || parts[p]
}

// assignedPartitions reads kafka-go's map[topicPartition]int64 by reflection (its key type is
// unexported) and returns the partitions of topic.
func assignedPartitions(topic string, arg any) (map[int]bool, bool) {
	v := reflect.ValueOf(arg)
	if v.Kind() != reflect.Map || v.Type().Key().Kind() != reflect.Struct {
		return nil, false
	}
	t, okT := v.Type().Key().FieldByName("topic")
	p, okP := v.Type().Key().FieldByName("partition")
	if !okT || !okP || t.Type.Kind() != reflect.String || !p.Type.ConvertibleTo(reflect.TypeFor[int64]()) {
		return nil, false
	}
	parts := map[int]bool{}
	for _, k := range v.MapKeys() {
		if k.FieldByIndex(t.Index).String() == topic {
			parts[int(k.FieldByIndex(p.Index).Int())] = true
		}
	}
	return parts, true
}

// partitionQueue is one partition's fetched, not yet written slots, in fetch (= offset) order. The
// partition's commit point is the offset after the last slot popped from the front.
type partitionQueue[In any] struct {
	slots []*slot[In]
	last  int64 // offset of the last slot added; a smaller one means the partition was read again
}

// tracker holds the sink's per-partition state: a slow or abandoned input holds back its own
// partition only. It is used by the sink goroutine alone.
type tracker[In any] struct {
	live    map[int]*partitionQueue[In]
	dropped []*slot[In] // never to be written or committed; their credits return once they are done
	gen     int         // the assignment generation applied
	parts   map[int]bool
}

func newTracker[In any]() *tracker[In] { return &tracker[In]{live: map[int]*partitionQueue[In]{}} }

// add queues a freshly fetched slot.
func (t *tracker[In]) add(s *slot[In]) {
	p := s.msg.Partition
	if t.parts != nil && !t.parts[p] {
		t.drop(s) // fetched before a rebalance that took the partition away
		return
	}
	q := t.live[p]
	if q != nil && s.msg.Offset <= q.last {
		// A new generation restarted the partition at its committed offset: everything still queued
		// will come again, and committing the old copies' progress could skip the new copies.
		t.kill(p)
		q = nil
	}
	if q == nil {
		q = &partitionQueue[In]{}
		t.live[p] = q
	}
	q.slots = append(q.slots, s)
	q.last = s.msg.Offset
}

// reassign applies an assignment: revoked partitions' state is dropped.
func (t *tracker[In]) reassign(gen int, parts map[int]bool) {
	if gen == t.gen {
		return
	}
	t.gen, t.parts = gen, parts
	for p := range t.live {
		if parts != nil && !parts[p] {
			t.kill(p)
		}
	}
}

func (t *tracker[In]) kill(p int) {
	for _, s := range t.live[p].slots {
		t.drop(s)
	}
	delete(t.live, p)
}

func (t *tracker[In]) drop(s *slot[In]) {
	s.dropped.Store(true) // a worker that has not started it skips it
	t.dropped = append(t.dropped, s)
}

// reap forgets dropped slots that are done and returns how many.
func (t *tracker[In]) reap() int {
	kept := t.dropped[:0]
	for _, s := range t.dropped {
		if !s.isDone() {
			kept = append(kept, s)
		}
	}
	n := len(t.dropped) - len(kept)
	clear(t.dropped[len(kept):])
	t.dropped = kept
	return n
}

// ready pops every partition's finished prefix. An abandoned slot stays at its partition's front
// for good: nothing behind it may be committed.
func (t *tracker[In]) ready() []*slot[In] {
	var batch []*slot[In]
	for _, q := range t.live {
		n := 0
		for n < len(q.slots) && q.slots[n].isDone() && !q.slots[n].abandoned {
			n++
		}
		batch = append(batch, q.slots[:n]...)
		clear(q.slots[:n])
		q.slots = q.slots[n:]
	}
	return batch
}

// idle reports whether nothing more can be written: every partition is empty or stuck behind an
// abandoned slot.
func (t *tracker[In]) idle() bool {
	for _, q := range t.live {
		if len(q.slots) > 0 && !(q.slots[0].isDone() && q.slots[0].abandoned) {
			return false
		}
	}
	return true
}
