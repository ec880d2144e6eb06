package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/streams"
)

// Dead letters are chosen by OFFSET (when one partition has it), PARTITION:OFFSET or all, then
// narrowed by reason; a position naming none or several is an error that says so.
func TestChooseDeadLetters(t *testing.T) {
	dls := []streams.DeadLetter{
		{Partition: 0, Offset: 1, Reason: "decode: bad avro"},
		{Partition: 0, Offset: 2, Reason: "process: timeout"},
		{Partition: 1, Offset: 2, Reason: "process: unknown problem"},
	}
	pos := func(ds []streams.DeadLetter) string {
		var s []string
		for _, d := range ds {
			s = append(s, fmt.Sprintf("%d:%d", d.Partition, d.Offset))
		}
		return strings.Join(s, ",")
	}
	for _, c := range []struct {
		choice DeadLetterChoice
		want   string // chosen positions, or the error's text
	}{
		{DeadLetterChoice{Offsets: "1"}, "0:1"},
		{DeadLetterChoice{Offsets: "1:2, 0:1"}, "1:2,0:1"},
		{DeadLetterChoice{All: true}, "0:1,0:2,1:2"},
		{DeadLetterChoice{All: true, ReasonContains: "process"}, "0:2,1:2"},
		{DeadLetterChoice{Offsets: "0:1,0:2", ReasonContains: "timeout"}, "0:2"},
		{DeadLetterChoice{Offsets: "2"}, "several partitions"},
		{DeadLetterChoice{Offsets: "7"}, "no dead letter at 7"},
		{DeadLetterChoice{Offsets: "a:1"}, "neither OFFSET nor PARTITION:OFFSET"},
	} {
		got, err := chooseDeadLetters(dls, c.choice)
		if err != nil {
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("%+v: error %v, want %q", c.choice, err, c.want)
			}
			continue
		}
		if pos(got) != c.want {
			t.Errorf("%+v: chose %s, want %s", c.choice, pos(got), c.want)
		}
	}
}

// A listing that cannot be written is an error, not a silently missing table.
func TestPrintDeadLettersReportsAWriteError(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "list"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := printDeadLetters(f, []streams.DeadLetter{{Partition: 0, Offset: 1, Reason: "decode: bad avro"}}); err == nil {
		t.Error("writing to a closed file succeeded")
	}
}
