package flagrange

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// A value inside the declared range passes; one outside, or a numeric flag without a range, is one
// error naming the flag.
func TestCheck(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.Int("n", 1, "")
	fs.Duration("wait", time.Second, "")
	fs.String("name", "", "") // not numeric: never checked
	Limits(fs, map[string][2]string{"n": {"0", "10"}, "wait": {"0s", "1m"}})
	if err := Check(fs); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ flag, value, want string }{
		{"n", "11", "invalid --n 11: allowed range is 0 … 10"},
		{"n", "-1", "invalid --n -1"},
		{"wait", "2m", "invalid --wait 2m0s: allowed range is 0s … 1m"},
	} {
		if err := fs.Set(c.flag, c.value); err != nil {
			t.Fatal(err)
		}
		if err := Check(fs); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--%s %s: %v, want %q", c.flag, c.value, err, c.want)
		}
		fs.Set("n", "1")
		fs.Set("wait", "1s")
	}
	fs.Float64("ratio", 0, "")
	if err := Check(fs); err == nil || !strings.Contains(err.Error(), "--ratio: no allowed range declared") {
		t.Errorf("undeclared range: %v", err)
	}
}
