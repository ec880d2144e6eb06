package permanent

import (
	"errors"
	"fmt"
	"testing"
)

func TestMarkIsIdempotentAndWrapped(t *testing.T) {
	base := errors.New("no such problem")
	m := Mark(base)
	if !Is(m) || !Is(fmt.Errorf("stage: %w", m)) || !errors.Is(m, base) {
		t.Fatal("a marked error, wrapped or not, must be permanent and keep its cause")
	}
	if Mark(m) != m || Mark(nil) != nil || Is(base) || Is(nil) {
		t.Fatal("marking twice, nil and plain errors")
	}
}

func TestOneReasonPrefix(t *testing.T) {
	sentinel := New("executor: unknown problem")
	for _, c := range []struct {
		err  error
		want string
	}{
		{Mark(errors.New("bad row")), "permanent: bad row"},
		{fmt.Errorf("%w: mbpp/9", sentinel), "permanent: executor: unknown problem: mbpp/9"},
		{Mark(fmt.Errorf("%w: mbpp/9", sentinel)), "permanent: executor: unknown problem: mbpp/9"},
		{Mark(New("permanent")), "permanent"},
		{Mark(fmt.Errorf("%w: gave up", New("permanent"))), "permanent: gave up"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
		if !Is(c.err) {
			t.Errorf("%q is not permanent", c.err)
		}
	}
}
