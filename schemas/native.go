package schemas

import "fmt"

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

func (f *fields) str(name string) string {
	v, ok := f.m[name].(string)
	if !ok {
		f.fail(name, "string", f.m[name])
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

func (f *fields) f64(name string) float64 {
	v, ok := f.m[name].(float64)
	if !ok {
		f.fail(name, "double", f.m[name])
	}
	return v
}

func (f *fields) boolean(name string) bool {
	v, ok := f.m[name].(bool)
	if !ok {
		f.fail(name, "boolean", f.m[name])
	}
	return v
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

func (f *fields) records(name string) []map[string]any {
	arr, ok := f.m[name].([]any)
	if !ok {
		f.fail(name, "array", f.m[name])
		return nil
	}
	out := make([]map[string]any, 0, len(arr))
	for _, x := range arr {
		r, ok := x.(map[string]any)
		if !ok {
			f.fail(name, "array of records", x)
			return nil
		}
		out = append(out, r)
	}
	return out
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
