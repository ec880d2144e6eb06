package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/codeverify/codeverify/streams"
	"github.com/spf13/cobra"
)

// dlq list and dlq replay: read a topic's dead letters, and put chosen ones back on the topic once
// the cause is fixed. A dead letter is named by its position in TOPIC.dlq: OFFSET (any partition,
// when unambiguous) or PARTITION:OFFSET.

func (a *app) dlqCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dlq", Short: "Inspect and replay a topic's dead letters (TOPIC.dlq)"}
	cmd.AddCommand(a.dlqListCmd(), a.dlqReplayCmd())
	return cmd
}

func (a *app) dlqListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list TOPIC",
		Short: "Print TOPIC.dlq: position, stage, reason, source partition/offset, original size, truncated",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dls, err := a.readDeadLetters(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			printDeadLetters(cmd.OutOrStdout(), dls)
			return nil
		},
	}
}

func (a *app) dlqReplayCmd() *cobra.Command {
	var offsets, reasonContains string
	var all bool
	cmd := &cobra.Command{
		Use:   "replay TOPIC (--offsets A,B,…|--all) [--reason-contains S]",
		Short: "Republish chosen dead letters' original key and value to TOPIC (truncated ones are refused)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (offsets != "") {
				return errors.New("dlq replay: give exactly one of --offsets and --all")
			}
			topic := args[0]
			dls, err := a.readDeadLetters(cmd.Context(), topic)
			if err != nil {
				return err
			}
			chosen, err := chooseDeadLetters(dls, offsets, all, reasonContains)
			if err != nil {
				return err
			}
			return a.replayDeadLetters(cmd.Context(), cmd.OutOrStdout(), topic, chosen)
		},
	}
	f := cmd.Flags()
	f.StringVar(&offsets, "offsets", "", "dead letters to replay: OFFSET or PARTITION:OFFSET in "+streams.DLQTopic("TOPIC")+", comma-separated")
	f.BoolVar(&all, "all", false, "replay every dead letter (narrowed by --reason-contains)")
	f.StringVar(&reasonContains, "reason-contains", "", "only dead letters whose reason contains this text")
	return cmd
}

// readDeadLetters reads TOPIC.dlq, sorted by partition and offset.
func (a *app) readDeadLetters(ctx context.Context, topic string) ([]streams.DeadLetter, error) {
	if err := a.BrokersReachable(ctx); err != nil {
		return nil, err
	}
	dls, err := streams.ReadDeadLetters(ctx, a.Cluster(), streams.DLQTopic(topic))
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

func printDeadLetters(w io.Writer, dls []streams.DeadLetter) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION:OFFSET\tSTAGE\tSOURCE\tSIZE\tTRUNCATED\tREASON")
	for _, d := range dls {
		reason := strings.Join(strings.Fields(d.Reason), " ") // one line per dead letter
		fmt.Fprintf(tw, "%d:%d\t%s\t%s/%d@%d\t%d\t%t\t%s\n", d.Partition, d.Offset, d.Stage, d.SourceTopic, d.SourcePartition, d.SourceOffset,
			d.OriginalSize, d.Truncated, reason)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d dead letters\n", len(dls))
}

// chooseDeadLetters picks the dead letters named by offsets (or all of them), then keeps those whose
// reason contains reasonContains. An offset that names none, or more than one, is an error.
func chooseDeadLetters(dls []streams.DeadLetter, offsets string, all bool, reasonContains string) ([]streams.DeadLetter, error) {
	var chosen []streams.DeadLetter
	if all {
		chosen = dls
	} else {
		for _, s := range strings.Split(offsets, ",") {
			s = strings.TrimSpace(s)
			part, off, hasPart := strings.Cut(s, ":")
			if !hasPart {
				off, part = part, ""
			}
			o, err := strconv.ParseInt(off, 10, 64)
			p, perr := strconv.Atoi(part)
			if err != nil || (hasPart && perr != nil) {
				return nil, fmt.Errorf("dlq replay: --offsets: %q is neither OFFSET nor PARTITION:OFFSET", s)
			}
			var match []streams.DeadLetter
			for _, d := range dls {
				if d.Offset == o && (!hasPart || d.Partition == p) {
					match = append(match, d)
				}
			}
			switch {
			case len(match) == 0:
				return nil, fmt.Errorf("dlq replay: no dead letter at %s (dlq list shows them)", s)
			case len(match) > 1:
				return nil, fmt.Errorf("dlq replay: offset %s is in several partitions: name one as PARTITION:OFFSET", s)
			}
			chosen = append(chosen, match[0])
		}
	}
	if reasonContains != "" {
		var kept []streams.DeadLetter
		for _, d := range chosen {
			if strings.Contains(d.Reason, reasonContains) {
				kept = append(kept, d)
			}
		}
		chosen = kept
	}
	return chosen, nil
}

// replayDeadLetters republishes each dead letter's original key and value to topic. Truncated ones
// are refused before anything is written: their original value is not stored whole.
func (a *app) replayDeadLetters(ctx context.Context, w io.Writer, topic string, dls []streams.DeadLetter) error {
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
		if err := streams.PublishRaw(ctx, a.Cluster(), topic, d.Key, d.Value); err != nil {
			return fmt.Errorf("dlq replay %d:%d: %w", d.Partition, d.Offset, err)
		}
		fmt.Fprintf(w, "replayed %d:%d (source %s/%d@%d, %d bytes) to %s\n", d.Partition, d.Offset, d.SourceTopic, d.SourcePartition, d.SourceOffset, len(d.Value), topic)
	}
	fmt.Fprintf(w, "%d dead letters replayed to %s\n", len(dls), topic)
	return nil
}
