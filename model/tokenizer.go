package model

import (
	"fmt"
	"strings"
)

// Byte-level vocabulary: four special ids, then one id per byte value.
const (
	PadID      = 0
	ClsID      = 1
	SepID      = 2
	UnkID      = 3 // reserved: a byte tokenizer never meets an unknown symbol
	ByteOffset = 4
	VocabSize  = ByteOffset + 256

	TokenizerKind = "bytes-v1"
)

// Tokenizer turns (prompt, code) into "[CLS] prompt [SEP] code" byte ids of at most MaxLen.
type Tokenizer struct {
	MaxLen int
}

// TokenizerSpec is the tokenizer as stored in a model's manifest: everything a reranker needs to
// produce the same ids.
type TokenizerSpec struct {
	Kind       string `json:"kind"`
	VocabSize  int    `json:"vocab_size"`
	PadID      int    `json:"pad_id"`
	ClsID      int    `json:"cls_id"`
	SepID      int    `json:"sep_id"`
	UnkID      int    `json:"unk_id"`
	ByteOffset int    `json:"byte_offset"` // id = ByteOffset + byte value
	MaxLen     int    `json:"max_len"`
	Truncation string `json:"truncation"`
}

const truncationRule = "if code starts with prompt, that prefix is dropped from code (the prompt segment holds it); " +
	"code keeps its first max_len-2 bytes; prompt gets the remaining room and keeps its last bytes"

// Spec describes t for the manifest.
func (t Tokenizer) Spec() TokenizerSpec {
	return TokenizerSpec{Kind: TokenizerKind, VocabSize: VocabSize, PadID: PadID, ClsID: ClsID, SepID: SepID,
		UnkID: UnkID, ByteOffset: ByteOffset, MaxLen: t.MaxLen, Truncation: truncationRule}
}

// Validate reports why t cannot encode.
func (t Tokenizer) Validate() error {
	if t.MaxLen < 8 {
		return fmt.Errorf("tokenizer: max length %d, want ≥ 8", t.MaxLen)
	}
	return nil
}

// Encode returns the ids (no padding). Code is first-class: it takes the room it needs, and the
// prompt's tail (the signature and docstring end, nearest the code) fills what is left.
func (t Tokenizer) Encode(prompt, code string) []int64 {
	if prompt != "" && strings.HasPrefix(code, prompt) {
		code = code[len(prompt):]
	}
	room := t.MaxLen - 2
	c := code[:min(len(code), room)]
	p := prompt[len(prompt)-min(len(prompt), room-len(c)):]
	ids := make([]int64, 0, 2+len(p)+len(c))
	ids = append(ids, ClsID)
	for i := 0; i < len(p); i++ {
		ids = append(ids, int64(ByteOffset)+int64(p[i]))
	}
	ids = append(ids, SepID)
	for i := 0; i < len(c); i++ {
		ids = append(ids, int64(ByteOffset)+int64(c[i]))
	}
	return ids
}
