package model

import (
	"strings"
	"testing"
)

func decode(ids []int64) (prompt, code string, ok bool) {
	if len(ids) == 0 || ids[0] != ClsID {
		return "", "", false
	}
	var p, c []byte
	seg := &p
	for _, id := range ids[1:] {
		switch {
		case id == SepID && seg == &p:
			seg = &c
		case id >= ByteOffset && id < VocabSize:
			*seg = append(*seg, byte(id-ByteOffset))
		default:
			return "", "", false
		}
	}
	return string(p), string(c), seg == &c
}

func TestTokenizerLayoutAndTruncation(t *testing.T) {
	tok := Tokenizer{MaxLen: 32}
	ids := tok.Encode("add", "def f(): pass")
	p, c, ok := decode(ids)
	if !ok || p != "add" || c != "def f(): pass" {
		t.Fatalf("[CLS] prompt [SEP] code broken: %v → %q %q %v", ids, p, c, ok)
	}
	// Code first: a long code takes all the room, the prompt gets none.
	long := strings.Repeat("x", 100)
	ids = tok.Encode("prompt", long)
	if len(ids) != 32 {
		t.Fatalf("len %d, want max 32", len(ids))
	}
	if p, c, _ := decode(ids); p != "" || c != long[:30] {
		t.Errorf("long code: prompt %q, code %q", p, c)
	}
	// The prompt's tail fills the room code leaves.
	if p, c, _ := decode(tok.Encode("0123456789abcdefghijklmnopqrstuvwxyz", "code")); c != "code" || p != "abcdefghijklmnopqrstuvwxyz" {
		t.Errorf("prompt tail: %q (%d bytes), code %q", p, len(p), c)
	}
	// HumanEval: code = prompt + completion; the prefix is not spent twice.
	prompt := "def add(a, b):\n    \"\"\"sum\"\"\"\n"
	if p, c, _ := decode(tok.Encode(prompt, prompt+"    return a+b\n")); p != prompt[len(prompt)-(30-len("    return a+b\n")):] || c != "    return a+b\n" {
		t.Errorf("prompt prefix: prompt %q code %q", p, c)
	}
	// Every id is in the vocabulary, including non-ASCII bytes.
	for _, id := range tok.Encode("é", "\xff\x00") {
		if id < 0 || id >= VocabSize {
			t.Errorf("id %d outside the vocabulary", id)
		}
	}
	if (Tokenizer{MaxLen: 4}).Validate() == nil {
		t.Error("max length 4 accepted")
	}
}
