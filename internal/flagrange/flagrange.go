// Package flagrange gives every numeric command-line flag a declared range: Limits declares it
// where the flag is registered, Check refuses a value outside it before anything runs, so a bad
// number is one line naming the flag instead of a panic or a silently substituted default. A
// numeric flag without a declared range is refused too, so a test walking every command finds it.
package flagrange

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// Annotation is the flag annotation holding a flag's declared range (lower and upper bound).
const Annotation = "codeverify-range"

// numericTypes are the pflag value types that carry a number.
var numericTypes = map[string]bool{
	"int": true, "int8": true, "int16": true, "int32": true, "int64": true,
	"uint": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true,
	"float32": true, "float64": true, "duration": true,
}

// Numeric says whether a pflag value type carries a number.
func Numeric(typ string) bool { return numericTypes[typ] }

// Limits declares the inclusive range of each named flag of fs: bounds are numbers, or durations
// ("0s", "24h") for duration flags.
func Limits(fs *pflag.FlagSet, ranges map[string][2]string) {
	for name, r := range ranges {
		if fs.Lookup(name) == nil {
			panic("limits: no flag --" + name) // a typo in a declaration, found by every test
		}
		if err := fs.SetAnnotation(name, Annotation, []string{r[0], r[1]}); err != nil {
			panic(err)
		}
	}
}

// Number is a flag's value (or a bound written for it) as a float64; durations in seconds.
func Number(typ, s string) (float64, error) {
	if typ == "duration" {
		d, err := time.ParseDuration(s)
		return d.Seconds(), err
	}
	return strconv.ParseFloat(s, 64)
}

// Check checks every numeric flag of fs against its declared range.
func Check(fs *pflag.FlagSet) error {
	var first error
	fs.VisitAll(func(f *pflag.Flag) {
		typ := f.Value.Type()
		if first != nil || !Numeric(typ) {
			return
		}
		r := f.Annotations[Annotation]
		if len(r) != 2 {
			first = fmt.Errorf("--%s: no allowed range declared (a bug: declare it with limits)", f.Name)
			return
		}
		v, err := Number(typ, f.Value.String())
		lo, lerr := Number(typ, r[0])
		hi, herr := Number(typ, r[1])
		if lerr != nil || herr != nil {
			first = fmt.Errorf("--%s: bad declared range %v (a bug)", f.Name, r)
			return
		}
		if err != nil || math.IsNaN(v) || v < lo || v > hi {
			first = fmt.Errorf("invalid --%s %s: allowed range is %s … %s", f.Name, f.Value.String(), r[0], r[1])
		}
	})
	return first
}
