// Package schemas defines codeverify's events (Avro schemas embedded from avro/*.avsc), their Go types
// and a typed Codec[T] using Avro single-object encoding (magic c3 01 + 8-byte schema fingerprint).
// It imports nothing of codeverify's.
package schemas

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/linkedin/goavro/v2"
)

//go:embed avro/*.avsc
var avroFiles embed.FS

// ErrDecode wraps every decoding failure so callers can route the message to a dead-letter topic.
var ErrDecode = errors.New("avro decode")

// Codec encodes and decodes one event type. The reader schema is the newest one; messages written
// with any registered older writer schema are resolved to it (fields missing from the writer get the
// reader's defaults), which goavro itself does not do.
type Codec[T any] struct {
	reader  *goavro.Codec
	fields  []fieldDefault
	writers map[uint64]*goavro.Codec
	to      func(T) map[string]any
	from    func(map[string]any) (T, error)
}

type fieldDefault struct {
	name       string
	hasDefault bool
	value      any
}

// NewCodec builds a codec from a reader schema, conversions to and from goavro's native form, and any
// older writer schemas it must still read.
func NewCodec[T any](readerSchema string, to func(T) map[string]any, from func(map[string]any) (T, error), writerSchemas ...string) (*Codec[T], error) {
	rc, err := goavro.NewCodec(readerSchema)
	if err != nil {
		return nil, fmt.Errorf("reader schema: %w", err)
	}
	fields, err := recordDefaults(readerSchema)
	if err != nil {
		return nil, err
	}
	c := &Codec[T]{reader: rc, fields: fields, writers: map[uint64]*goavro.Codec{rc.Rabin: rc}, to: to, from: from}
	for i, ws := range writerSchemas {
		wc, err := goavro.NewCodec(ws)
		if err != nil {
			return nil, fmt.Errorf("writer schema %d: %w", i, err)
		}
		c.writers[wc.Rabin] = wc
	}
	return c, nil
}

func recordDefaults(schema string) ([]fieldDefault, error) {
	var rec struct {
		Fields []map[string]json.RawMessage `json:"fields"`
	}
	if err := json.Unmarshal([]byte(schema), &rec); err != nil {
		return nil, fmt.Errorf("schema JSON: %w", err)
	}
	var out []fieldDefault
	for _, f := range rec.Fields {
		var name string
		if err := json.Unmarshal(f["name"], &name); err != nil {
			return nil, fmt.Errorf("field name: %w", err)
		}
		fd := fieldDefault{name: name}
		if raw, ok := f["default"]; ok {
			fd.hasDefault = true
			if err := json.Unmarshal(raw, &fd.value); err != nil {
				return nil, fmt.Errorf("default of %s: %w", name, err)
			}
			fd.value = nativeDefault(fd.value)
		}
		out = append(out, fd)
	}
	return out, nil
}

// nativeDefault turns a JSON default into goavro's native form (json numbers are float64; arrays
// must be []any).
func nativeDefault(v any) any {
	switch x := v.(type) {
	case []any:
		return x
	default:
		return v
	}
}

// Schema returns the reader schema text.
func (c *Codec[T]) Schema() string { return c.reader.Schema() }

// Fingerprint is the reader schema's CRC-64-AVRO (Rabin) fingerprint.
func (c *Codec[T]) Fingerprint() uint64 { return c.reader.Rabin }

// Encode returns the single-object encoding of v under the reader (current) schema.
func (c *Codec[T]) Encode(v T) ([]byte, error) {
	b, err := c.reader.SingleFromNative(nil, c.to(v))
	if err != nil {
		return nil, fmt.Errorf("avro encode: %w", err)
	}
	return b, nil
}

// Decode parses a single-object encoded message. Every failure wraps ErrDecode; it never panics.
func (c *Codec[T]) Decode(b []byte) (v T, err error) {
	defer func() {
		if r := recover(); r != nil { // goavro must never take the process down on hostile bytes
			err = fmt.Errorf("%w: %v", ErrDecode, r)
		}
	}()
	fp, body, err := goavro.FingerprintFromSOE(b)
	if err != nil {
		return v, fmt.Errorf("%w: not single-object encoded (want magic c3 01, %d bytes): %v", ErrDecode, len(b), err)
	}
	wc, ok := c.writers[fp]
	if !ok {
		return v, fmt.Errorf("%w: unknown schema fingerprint %016x", ErrDecode, fp)
	}
	native, rest, err := wc.NativeFromBinary(body)
	if err != nil {
		return v, fmt.Errorf("%w: %v", ErrDecode, err)
	}
	if len(rest) != 0 {
		return v, fmt.Errorf("%w: %d trailing bytes", ErrDecode, len(rest))
	}
	m, ok := native.(map[string]any)
	if !ok {
		return v, fmt.Errorf("%w: not a record", ErrDecode)
	}
	for _, f := range c.fields {
		if _, present := m[f.name]; !present {
			if !f.hasDefault {
				return v, fmt.Errorf("%w: field %q missing from writer schema and has no default", ErrDecode, f.name)
			}
			m[f.name] = f.value
		}
	}
	v, err = c.from(m)
	if err != nil {
		return v, fmt.Errorf("%w: %v", ErrDecode, err)
	}
	return v, nil
}

// HasSchema reports whether name is an embedded schema, i.e. whether SchemaText(name) returns one.
func HasSchema(name string) bool {
	_, err := fs.Stat(avroFiles, "avro/"+name+".avsc")
	return err == nil
}

// SchemaText returns an embedded schema, e.g. SchemaText("verdict").
func SchemaText(name string) string {
	b, err := avroFiles.ReadFile("avro/" + name + ".avsc")
	if err != nil {
		panic("schemas: missing embedded schema " + name) // a build error, not a runtime condition
	}
	return string(b)
}
