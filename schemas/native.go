package schemas

import "fmt"

// A field binds one Avro field, by name, to the Go variable that holds it. An event lists its
// fields once, and that one list both encodes and decodes it, so the two directions cannot
// disagree about a name or a type. ptr is a *string, *int32, *int64, *float64, *bool or *[]string,
// a nested record (recordOf, recordsOf), or an optional one of these.
type field struct {
	name string
	ptr  any
}

// optional marks a field of a nested record that older writer schemas lack: absent, it keeps its
// zero value. Top-level fields need no mark: Decode gives a missing one its reader-schema default.
type optional struct{ ptr any }

// nested is a field whose value is a record or an array of records with fields of their own.
type nested interface {
	native() any
	read(f *fields, name string)
}

// newRecordCodec builds the codec of an event type whose Avro fields fieldsOf lists.
func newRecordCodec[T any](readerSchema string, fieldsOf func(*T) []field, writerSchemas ...string) (*Codec[T], error) {
	return NewCodec(readerSchema,
		func(v T) map[string]any { return toNative(fieldsOf(&v)) },
		func(m map[string]any) (T, error) {
			var v T
			f := fields{m: m}
			f.read(fieldsOf(&v))
			return v, f.err
		}, writerSchemas...)
}

// toNative is a record in goavro's native form.
func toNative(fs []field) map[string]any {
	m := make(map[string]any, len(fs))
	for _, fd := range fs {
		m[fd.name] = nativeValue(fd.ptr)
	}
	return m
}

func nativeValue(ptr any) any {
	switch p := ptr.(type) {
	case *string:
		return *p
	case *int32:
		return *p
	case *int64:
		return *p
	case *float64:
		return *p
	case *bool:
		return *p
	case *[]string:
		return anySlice(*p)
	case optional:
		return nativeValue(p.ptr)
	case nested:
		return p.native()
	}
	panic(fmt.Sprintf("schemas: no Avro form for %T", ptr)) // a field list's mistake, which any round trip shows
}

// fields reads typed values out of goavro's native map, remembering the first error.
type fields struct {
	m   map[string]any
	err error
}

func (f *fields) fail(name, want string, v any) {
	if f.err == nil {
		f.err = fmt.Errorf("field %s: want %s, got %T", name, want, v)
	}
}

// read sets every field of fs from f's map.
func (f *fields) read(fs []field) {
	for _, fd := range fs {
		f.readInto(fd.name, fd.ptr)
	}
}

func (f *fields) readInto(name string, ptr any) {
	switch p := ptr.(type) {
	case *string:
		*p = value[string](f, name, "string")
	case *int32:
		*p = f.i32(name)
	case *int64:
		*p = f.i64(name)
	case *float64:
		*p = value[float64](f, name, "double")
	case *bool:
		*p = value[bool](f, name, "boolean")
	case *[]string:
		*p = f.strs(name)
	case optional:
		if _, present := f.m[name]; present {
			f.readInto(name, p.ptr)
		}
	case nested:
		p.read(f, name)
	default:
		panic(fmt.Sprintf("schemas: no Avro form for %T", ptr))
	}
}

// readRecord reads a nested record's fields from m; its first error becomes f's if f has none.
func (f *fields) readRecord(m map[string]any, fs []field) {
	rf := fields{m: m}
	rf.read(fs)
	if f.err == nil {
		f.err = rf.err
	}
}

// value is the field name of Go type T, whose Avro type is want.
func value[T any](f *fields, name, want string) T {
	v, ok := f.m[name].(T)
	if !ok {
		f.fail(name, want, f.m[name])
	}
	return v
}

func (f *fields) i32(name string) int32 {
	switch v := f.m[name].(type) {
	case int32:
		return v
	case float64: // JSON default
		return int32(v)
	}
	f.fail(name, "int", f.m[name])
	return 0
}

func (f *fields) i64(name string) int64 {
	switch v := f.m[name].(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	}
	f.fail(name, "long", f.m[name])
	return 0
}

func (f *fields) strs(name string) []string {
	arr, ok := f.m[name].([]any)
	if !ok {
		f.fail(name, "array", f.m[name])
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		s, ok := x.(string)
		if !ok {
			f.fail(name, "array of string", x)
			return nil
		}
		out = append(out, s)
	}
	return out
}

// record binds a nested record to a Go struct.
type record[T any] struct {
	ptr      *T
	fieldsOf func(*T) []field
}

// recordOf binds a nested record to *p, whose Avro fields fieldsOf lists.
func recordOf[T any](p *T, fieldsOf func(*T) []field) nested { return record[T]{p, fieldsOf} }

func (r record[T]) native() any { return toNative(r.fieldsOf(r.ptr)) }

func (r record[T]) read(f *fields, name string) {
	m, ok := f.m[name].(map[string]any)
	if !ok {
		f.fail(name, "record", f.m[name])
		return
	}
	f.readRecord(m, r.fieldsOf(r.ptr))
}

// records binds an array of records to a slice of Go structs.
type records[T any] struct {
	ptr      *[]T
	fieldsOf func(*T) []field
}

// recordsOf binds an array of records to *p, whose elements' Avro fields fieldsOf lists. An
// empty array reads as a nil slice.
func recordsOf[T any](p *[]T, fieldsOf func(*T) []field) nested { return records[T]{p, fieldsOf} }

func (rs records[T]) native() any {
	out := make([]any, len(*rs.ptr))
	for i := range *rs.ptr {
		out[i] = toNative(rs.fieldsOf(&(*rs.ptr)[i]))
	}
	return out
}

func (rs records[T]) read(f *fields, name string) {
	arr, ok := f.m[name].([]any)
	if !ok {
		f.fail(name, "array", f.m[name])
		return
	}
	for _, x := range arr {
		m, ok := x.(map[string]any)
		if !ok {
			f.fail(name, "array of records", x)
			return
		}
		var v T
		f.readRecord(m, rs.fieldsOf(&v))
		*rs.ptr = append(*rs.ptr, v)
	}
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
