package streams

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"

	"github.com/segmentio/kafka-go"
)

// Headers added to a dead letter. Its key and value are the original message's, except that a
// value that would make the dead letter too large to write is cut (HeaderTruncated), and the size
// and SHA-256 of the whole original value are always given.
const (
	HeaderReason    = "dlq.reason"
	HeaderTopic     = "dlq.topic"
	HeaderPartition = "dlq.partition"
	HeaderOffset    = "dlq.offset"
	HeaderStage     = "dlq.stage"
	// HeaderOriginalSize is the byte length of the original value, HeaderOriginalSHA256 its
	// SHA-256 in hex, and HeaderTruncated is "true" when the stored value is only its prefix (or
	// empty, and the key cut to 1 KiB, when even that would not fit).
	HeaderOriginalSize   = "dlq.original.size"
	HeaderOriginalSHA256 = "dlq.original.sha256"
	HeaderTruncated      = "dlq.truncated"
	// An output that can never be written (too large for its topic even alone) is replaced by a
	// dead letter of its input at StageWrite; these headers describe the output.
	HeaderOutputTopic  = "dlq.output.topic"
	HeaderOutputSize   = "dlq.output.size"
	HeaderOutputSHA256 = "dlq.output.sha256"
)

// Stages at which a message can be dead-lettered.
const (
	StageDecode   = "decode"
	StageValidate = "validate"
	StageProcess  = "process"
	StageWrite    = "write"
)

// ReasonOversized is the dlq.reason of a message larger than the configured maximum.
const ReasonOversized = "oversized"

// DefaultMaxWriteBytes is the default largest dead letter, and the default byte size of one
// produce batch. Kafka's default max.message.bytes is 1,048,588; the margin leaves room for the
// record batch's own framing.
const DefaultMaxWriteBytes = 1_000_000

const (
	maxReasonBytes = 1024 // a reason is for humans; keep a hostile error text from bloating the DLQ
	maxBareKey     = 1024 // the key kept when a dead letter must drop its value and source headers
	// recordOverhead is what a record adds to its key, value and headers on the wire (lengths,
	// varints, attributes), generously counted, plus the batch header.
	recordOverhead = 1024
)

// deadLetterMessage builds src's dead letter for the dead-letter topic of src.Topic: no larger than
// maxBytes (key, value, headers and framing), its value cut to fit when needed. extra headers
// (e.g. about an output) are added to the standard ones.
func deadLetterMessage(src kafka.Message, stage, reason string, maxBytes int, extra ...kafka.Header) kafka.Message {
	if len(reason) > maxReasonBytes {
		reason = reason[:maxReasonBytes]
	}
	sum := sha256.Sum256(src.Value)
	ours := append([]kafka.Header{
		{Key: HeaderReason, Value: []byte(reason)},
		{Key: HeaderTopic, Value: []byte(src.Topic)},
		{Key: HeaderPartition, Value: []byte(strconv.Itoa(src.Partition))},
		{Key: HeaderOffset, Value: []byte(strconv.FormatInt(src.Offset, 10))},
		{Key: HeaderStage, Value: []byte(stage)},
		{Key: HeaderOriginalSize, Value: []byte(strconv.Itoa(len(src.Value)))},
		{Key: HeaderOriginalSHA256, Value: []byte(hex.EncodeToString(sum[:]))},
	}, extra...)
	truncated := kafka.Header{Key: HeaderTruncated, Value: []byte("true")}
	budget := maxBytes - recordOverhead - headersSize(ours) - len(truncated.Key) - len(truncated.Value)
	key, value := src.Key, src.Value
	h := append(slices.Clone(src.Headers), ours...)
	if len(key)+headersSize(src.Headers) > budget/2 {
		// The source's key and headers alone crowd out the value: keep only ours and a key prefix.
		h = ours
		key = key[:min(len(key), maxBareKey)]
	} else {
		budget -= headersSize(src.Headers)
	}
	if len(key)+len(value) > budget {
		value = value[:max(0, min(len(value), budget-len(key)))]
		h = append(h, truncated)
	}
	return kafka.Message{Topic: DLQTopic(src.Topic), Key: key, Value: value, Headers: h}
}

// bareDeadLetter strips a dead letter to its headers and a key prefix: what is left to write when
// the dead-letter topic refuses even the sized one.
func bareDeadLetter(dl kafka.Message) kafka.Message {
	h := slices.DeleteFunc(slices.Clone(dl.Headers), func(h kafka.Header) bool { return h.Key == HeaderTruncated })
	h = append(h, kafka.Header{Key: HeaderTruncated, Value: []byte("true")})
	return kafka.Message{Topic: dl.Topic, Key: dl.Key[:min(len(dl.Key), maxBareKey)], Headers: h}
}

// outputDeadLetter is the dead letter that replaces an output of input that cannot be written.
func outputDeadLetter(input, output kafka.Message, reason string, maxBytes int) kafka.Message {
	sum := sha256.Sum256(output.Value)
	return deadLetterMessage(input, StageWrite, reason, maxBytes,
		kafka.Header{Key: HeaderOutputTopic, Value: []byte(output.Topic)},
		kafka.Header{Key: HeaderOutputSize, Value: []byte(strconv.Itoa(len(output.Key) + len(output.Value)))},
		kafka.Header{Key: HeaderOutputSHA256, Value: []byte(hex.EncodeToString(sum[:]))},
	)
}

func headersSize(hs []kafka.Header) int {
	n := 0
	for _, h := range hs {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// headerValue is the value of m's last header named key, "" when there is none.
func headerValue(m kafka.Message, key string) string {
	for i := len(m.Headers) - 1; i >= 0; i-- {
		if m.Headers[i].Key == key {
			return string(m.Headers[i].Value)
		}
	}
	return ""
}
