// Package testgen is the generated-tests half of CodeT (Chen et al., ICLR 2023): the prompt that asks
// a model for tests, and the extraction that turns its raw generations into asserts with frequencies.
//
// The extraction reproduces CodeT's (CodeT/src/postprocess.py test_case_extract, then the first
// test_case_limit per sample in CodeT/src/agreement.py) so that asserts and frequencies match the
// paper's:
//
//  1. A raw generation continues a prompt that ends in "assert ", so "assert " + sample is split on
//     "assert ". Parts that are blank, or that do not contain the entry point anywhere (even after a
//     stop sequence), are dropped.
//  2. Each kept part becomes "assert " + part, stripped, then cut at the earliest of "\nclass",
//     "\ndef", "\n#", "\nif", "\nprint" and stripped again. The cut may remove the entry point: the
//     assert is kept all the same, as CodeT keeps it.
//  3. An assert is kept if it compiles inside a try: block (its lines indented under "try:", then
//     "except:\n    pass"). Python's compile() decides, through a Checker; Python strips the
//     white space str.isspace() knows, which includes \x1c-\x1f, and so does this package.
//  4. The first PerSample (5) asserts that compile are taken from each sample.
//  5. Identical asserts are merged across all samples, in first-seen order. The frequency counts
//     occurrences, as CodeT's Counter does: an assert a sample repeats within its first five counts
//     twice.
package testgen

import (
	"context"
	"strings"
	"unicode"

	"github.com/codeverify/codeverify/schemas"
)

// PerSample is how many asserts CodeT takes from each raw generation (its test_case_limit).
const PerSample = 5

// Stops are where CodeT cuts an assert: anything at top level after it is not part of it.
func Stops() []string { return []string{"\nclass", "\ndef", "\n#", "\nif", "\nprint"} }

var stops = Stops()

// Split returns one raw sample's assert candidates in order, steps 1 and 2 of the package doc:
// before the compile check and before the PerSample limit.
func Split(entryPoint, sample string) []string {
	ep := pyStrip(entryPoint)
	var out []string
	for _, part := range strings.Split("assert "+sample, "assert ") {
		if !strings.Contains(part, ep) || pyStrip(part) == "" {
			continue
		}
		out = append(out, truncate(pyStrip("assert "+part)))
	}
	return out
}

// truncate cuts at the earliest stop sequence and strips.
func truncate(s string) string {
	cut := len(s)
	for _, stop := range stops {
		if i := strings.Index(s, stop); i >= 0 && i < cut {
			cut = i
		}
	}
	return pyStrip(s[:cut])
}

// pyStrip is Python's str.strip(): Go's unicode.IsSpace plus the separators \x1c-\x1f.
func pyStrip(s string) string { return strings.TrimFunc(s, isPySpace) }

func isPySpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

// plausible is CodeT's check before compiling: not blank, and mentions assert.
func plausible(a string) bool { return pyStrip(a) != "" && strings.Contains(a, "assert") }

// Count takes the first PerSample asserts of each sample that compile and merges them with their
// frequencies, in first-seen order (steps 3 to 5 of the package doc).
func Count(perSample [][]string, compiles func(string) bool) []schemas.GeneratedAssert {
	var out []schemas.GeneratedAssert
	at := map[string]int{}
	for _, parts := range perSample {
		taken := 0
		for _, a := range parts {
			if taken == PerSample {
				break
			}
			if !plausible(a) || !compiles(a) {
				continue
			}
			taken++
			if i, ok := at[a]; ok {
				out[i].Frequency++
				continue
			}
			at[a] = len(out)
			out = append(out, schemas.GeneratedAssert{Code: a, Frequency: 1})
		}
	}
	return out
}

// Unique lists the distinct plausible candidates of several samples' splits, in first-seen order:
// what a Checker has to be asked about.
func Unique(perSample ...[][]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, samples := range perSample {
		for _, parts := range samples {
			for _, a := range parts {
				if !seen[a] && plausible(a) {
					seen[a] = true
					out = append(out, a)
				}
			}
		}
	}
	return out
}

// Extract applies CodeT's extraction to the raw generations of one problem, asking check once for
// all of them.
func Extract(ctx context.Context, check Checker, entryPoint string, raw []string) ([]schemas.GeneratedAssert, error) {
	perSample := make([][]string, len(raw))
	for i, s := range raw {
		perSample[i] = Split(entryPoint, s)
	}
	ok, err := CompileSet(ctx, check, Unique(perSample))
	if err != nil {
		return nil, err
	}
	return Count(perSample, func(a string) bool { return ok[a] }), nil
}
