package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/streams"
)

// Dead-letter tools: read a topic's dead letters, and put chosen ones back on the topic once the
// cause is fixed. A dead letter is named by its position in TOPIC.dlq: OFFSET (any partition, when
// unambiguous) or PARTITION:OFFSET.

// DeadLetterChoice says which dead letters to replay: the ones at Offsets ("OFFSET" or
// "PARTITION:OFFSET", comma-separated) or All, narrowed to those whose reason contains
// ReasonContains (when set). Exactly one of Offsets and All is given.
type DeadLetterChoice struct {
	Offsets        string
	All            bool
	ReasonContains string
}

// ListDeadLetters prints topic's dead letters on w: position, stage, reason, source
// partition/offset, original size, truncated.
func ListDeadLetters(ctx context.Context, env *config.Env, topic string, w io.Writer) error {
	dls, err := readDeadLetters(ctx, env, topic)
	if err != nil {
		return err
	}
	return printDeadLetters(w, dls)
}

// ReplayDeadLetters republishes the chosen dead letters' original key and value to topic, saying
// what it replayed on w. Truncated ones are refused before anything is written: their original
// value is not stored whole.
func ReplayDeadLetters(ctx context.Context, env *config.Env, topic string, c DeadLetterChoice, w io.Writer) error {
	if c.All == (c.Offsets != "") {
		return errors.New("dlq replay: give exactly one of --offsets and --all")
	}
	dls, err := readDeadLetters(ctx, env, topic)
	if err != nil {
		return err
	}
	chosen, err := chooseDeadLetters(dls, c)
	if err != nil {
		return err
	}
	return replay(ctx, env.Cluster(), w, topic, chosen)
}

// readDeadLetters reads TOPIC.dlq, sorted by partition and offset.
func readDeadLetters(ctx context.Context, env *config.Env, topic string) ([]streams.DeadLetter, error) {
	if err := env.BrokersReachable(ctx); err != nil {
		return nil, err
	}
	dls, err := streams.ReadDeadLetters(ctx, env.Cluster(), streams.DLQTopic(topic))
	if err != nil {
		return nil, err
	}
	sort.Slice(dls, func(i, j int) bool {
		if dls[i].Partition != dls[j].Partition {
			return dls[i].Partition < dls[j].Partition
		}
		return dls[i].Offset < dls[j].Offset
	})
	return dls, nil
}

func printDeadLetters(w io.Writer, dls []streams.DeadLetter) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION:OFFSET\tSTAGE\tSOURCE\tSIZE\tTRUNCATED\tREASON")
	for _, d := range dls {
		reason := strings.Join(strings.Fields(d.Reason), " ") // one line per dead letter
		fmt.Fprintf(tw, "%d:%d\t%s\t%s/%d@%d\t%d\t%t\t%s\n", d.Partition, d.Offset, d.Stage, d.SourceTopic, d.SourcePartition, d.SourceOffset,
			d.OriginalSize, d.Truncated, reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d dead letters\n", len(dls))
	return err
}

// chooseDeadLetters picks the dead letters named by c.Offsets (or all of them), then keeps those
// whose reason contains c.ReasonContains. An offset that names none, or more than one, is an error.
func chooseDeadLetters(dls []streams.DeadLetter, c DeadLetterChoice) ([]streams.DeadLetter, error) {
	var chosen []streams.DeadLetter
	if c.All {
		chosen = dls
	} else {
		for _, s := range strings.Split(c.Offsets, ",") {
			d, err := deadLetterAt(dls, strings.TrimSpace(s))
			if err != nil {
				return nil, err
			}
			chosen = append(chosen, d)
		}
	}
	if c.ReasonContains != "" {
		var kept []streams.DeadLetter
		for _, d := range chosen {
			if strings.Contains(d.Reason, c.ReasonContains) {
				kept = append(kept, d)
			}
		}
		chosen = kept
	}
	return chosen, nil
}

// deadLetterAt is the one dead letter at s: OFFSET or PARTITION:OFFSET.
func deadLetterAt(dls []streams.DeadLetter, s string) (streams.DeadLetter, error) {
	part, off, hasPart := strings.Cut(s, ":")
	if !hasPart {
		off, part = part, ""
	}
	o, err := strconv.ParseInt(off, 10, 64)
	p, perr := strconv.Atoi(part)
	if err != nil || (hasPart && perr != nil) {
		return streams.DeadLetter{}, fmt.Errorf("dlq replay: --offsets: %q is neither OFFSET nor PARTITION:OFFSET", s)
	}
	var match []streams.DeadLetter
	for _, d := range dls {
		if d.Offset == o && (!hasPart || d.Partition == p) {
			match = append(match, d)
		}
	}
	switch {
	case len(match) == 0:
		return streams.DeadLetter{}, fmt.Errorf("dlq replay: no dead letter at %s (dlq list shows them)", s)
	case len(match) > 1:
		return streams.DeadLetter{}, fmt.Errorf("dlq replay: offset %s is in several partitions: name one as PARTITION:OFFSET", s)
	}
	return match[0], nil
}

// replay republishes each dead letter's original key and value to topic.
func replay(ctx context.Context, cluster streams.Cluster, w io.Writer, topic string, dls []streams.DeadLetter) error {
	var refused []string
	for _, d := range dls {
		if d.Truncated {
			refused = append(refused, fmt.Sprintf("%d:%d (%d bytes originally)", d.Partition, d.Offset, d.OriginalSize))
		}
		if d.SourceTopic != "" && d.SourceTopic != topic {
			return fmt.Errorf("dlq replay: dead letter %d:%d came from %s, not %s", d.Partition, d.Offset, d.SourceTopic, topic)
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("dlq replay: refusing truncated dead letters, whose original value was not stored whole (replay them from the source or leave them out): %s",
			strings.Join(refused, ", "))
	}
	for _, d := range dls {
		if err := streams.PublishRaw(ctx, cluster, topic, d.Key, d.Value); err != nil {
			return fmt.Errorf("dlq replay %d:%d: %w", d.Partition, d.Offset, err)
		}
		fmt.Fprintf(w, "replayed %d:%d (source %s/%d@%d, %d bytes) to %s\n", d.Partition, d.Offset, d.SourceTopic, d.SourcePartition, d.SourceOffset, len(d.Value), topic)
	}
	fmt.Fprintf(w, "%d dead letters replayed to %s\n", len(dls), topic)
	return nil
}
