package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/weirstream/weir/sql/types"
)

// JSON is the 'json' format: one JSON object per record. A column is the
// object's field of the same name; a flattened ROW column "outer.inner" is
// the field inner of the object in field outer. A missing field or a JSON
// null is NULL; a value of the wrong type is a decode error, the record a
// dead letter. Numbers are accepted as strings and strings of digits as
// numbers, as Flink's json format does. Timestamps are written as
// "2006-01-02 15:04:05.000" (TIMESTAMP_LTZ with a trailing 'Z', in UTC)
// and read in that form, the ISO-8601 one, or as epoch milliseconds.
//
// Option 'json.ignore-parse-errors' ('false'): when true, a field of the
// wrong type is NULL instead of a dead letter; a record that is not a JSON
// object is still a dead letter.
type JSON struct{}

// Name implements Format.
func (JSON) Name() string { return "json" }

// Options implements Format.
func (JSON) Options() []string { return []string{"json.ignore-parse-errors"} }

// jsonColumn is one column's path in the nested objects.
type jsonColumn struct {
	path []string
	typ  types.Type
}

// Decoder implements Format.
func (f JSON) Decoder(c Config) (Decoder, error) {
	cols, lenient, err := f.columns(c)
	if err != nil {
		return nil, err
	}
	return newJSONScanner(cols, lenient, c.Location), nil
}

// columns checks c and returns the columns' paths and whether
// 'json.ignore-parse-errors' is set.
func (f JSON) columns(c Config) ([]jsonColumn, bool, error) {
	if err := checkOptions(f, c); err != nil {
		return nil, false, err
	}
	lenient := strings.EqualFold(c.Options["json.ignore-parse-errors"], "true")
	if v, ok := c.Options["json.ignore-parse-errors"]; ok && !lenient && !strings.EqualFold(v, "false") {
		return nil, false, fmt.Errorf("format: table %s: option 'json.ignore-parse-errors' is %q: it must be 'true' or 'false'", c.Table, v)
	}
	cols := make([]jsonColumn, len(c.Schema))
	for i, col := range c.Schema {
		if col.Type.Kind == types.Record || col.Type.Kind == types.Unknown {
			return nil, false, fmt.Errorf("format: table %s: column %s has type %s: flatten the schema first (types.Schema.Flatten)", c.Table, col.Name, col.Type)
		}
		cols[i] = jsonColumn{path: strings.Split(col.Name, "."), typ: col.Type}
	}
	return cols, lenient, nil
}

// referenceDecoder decodes with encoding/json into maps: slow, obviously
// right, and the oracle the fuzz test checks the scanner against.
func (f JSON) referenceDecoder(c Config) (Decoder, error) {
	cols, lenient, err := f.columns(c)
	if err != nil {
		return nil, err
	}
	loc := c.Location
	return func(data []byte) (types.Row, error) {
		var obj map[string]any
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		if err := d.Decode(&obj); err != nil {
			return types.Row{}, fmt.Errorf("json: not a JSON object: %v", err)
		}
		if obj == nil {
			return types.Row{}, fmt.Errorf("json: not a JSON object: null")
		}
		if d.More() {
			return types.Row{}, fmt.Errorf("json: more than one JSON value in the record")
		}
		values := make([]types.Value, len(cols))
		for i, col := range cols {
			v, err := jsonValue(obj, col, loc)
			if err != nil {
				if lenient {
					continue
				}
				return types.Row{}, fmt.Errorf("json: column %s: %v", strings.Join(col.path, "."), err)
			}
			values[i] = v
		}
		return types.Row{Values: values}, nil
	}, nil
}

func jsonValue(obj map[string]any, col jsonColumn, loc *time.Location) (types.Value, error) {
	var cur any = obj
	for _, name := range col.path {
		m, ok := cur.(map[string]any)
		if !ok {
			if cur == nil {
				return types.Null, nil
			}
			return types.Null, fmt.Errorf("expected an object, found %s", jsonKind(cur))
		}
		cur = m[name]
	}
	return jsonConvert(cur, col.typ, loc)
}

// jsonConvert converts a JSON value, as encoding/json decodes one with
// UseNumber, to a value of type t.
func jsonConvert(cur any, t types.Type, loc *time.Location) (types.Value, error) {
	var v types.Value
	switch x := cur.(type) {
	case nil:
		v = types.Null
	case string:
		if t.Kind == types.String {
			return types.StringValue(x), nil
		}
		if x == "" {
			return types.Null, nil
		}
		var err error
		if v, err = ParseText(x, t, loc); err != nil {
			return types.Null, err
		}
	case json.Number:
		switch t.Kind {
		case types.String:
			return types.StringValue(x.String()), nil
		case types.Timestamp, types.TimestampLTZ:
			n, err := strconv.ParseInt(x.String(), 10, 64)
			if err != nil {
				return types.Null, fmt.Errorf("%s is not epoch milliseconds", x)
			}
			return types.IntValue(n), nil
		case types.Int, types.BigInt, types.Double, types.Decimal:
			var err error
			if v, err = ParseText(x.String(), t, loc); err != nil {
				return types.Null, err
			}
		default:
			return types.Null, fmt.Errorf("expected %s, found a number", t)
		}
	case bool:
		switch t.Kind {
		case types.Boolean:
			v = types.BoolValue(x)
		case types.String:
			v = types.StringValue(strconv.FormatBool(x))
		default:
			return types.Null, fmt.Errorf("expected %s, found a boolean", t)
		}
	default:
		if t.Kind == types.String {
			raw, _ := json.Marshal(x)
			return types.StringValue(string(raw)), nil
		}
		return types.Null, fmt.Errorf("expected %s, found %s", t, jsonKind(x))
	}
	if v.IsNull() && t.NotNull {
		return types.Null, fmt.Errorf("is null but the column is NOT NULL")
	}
	return v, nil
}

func jsonKind(x any) string {
	switch x.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// Encoder implements Format: flattened columns are written back as nested
// objects (the columns of one ROW are consecutive, as Flatten makes them).
func (f JSON) Encoder(c Config) (Encoder, error) {
	if err := checkOptions(f, c); err != nil {
		return nil, err
	}
	paths := make([][]string, len(c.Schema))
	for i, col := range c.Schema {
		paths[i] = strings.Split(col.Name, ".")
	}
	schema := c.Schema
	return func(dst []byte, row types.Row) []byte {
		dst = append(dst, '{')
		var open []string // the objects open now, outermost first
		first := true
		for i, path := range paths {
			parents := path[:len(path)-1]
			common := 0
			for common < len(open) && common < len(parents) && open[common] == parents[common] {
				common++
			}
			for len(open) > common {
				dst = append(dst, '}')
				open = open[:len(open)-1]
			}
			for _, p := range parents[common:] {
				if !first {
					dst = append(dst, ',')
				}
				dst = appendJSONString(dst, p)
				dst = append(dst, ':', '{')
				open = append(open, p)
				first = true
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendJSONString(dst, path[len(path)-1])
			dst = append(dst, ':')
			var v types.Value
			if i < len(row.Values) {
				v = row.Values[i]
			}
			dst = appendJSONValue(dst, v, schema[i].Type)
		}
		for range open {
			dst = append(dst, '}')
		}
		return append(dst, '}')
	}, nil
}

func appendJSONValue(dst []byte, v types.Value, t types.Type) []byte {
	if v.IsNull() {
		return append(dst, "null"...)
	}
	switch t.Kind {
	case types.Boolean:
		return strconv.AppendBool(dst, v.Bool())
	case types.Int, types.BigInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case types.Double:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return appendJSONString(dst, strconv.FormatFloat(f, 'g', -1, 64))
		}
		return strconv.AppendFloat(dst, f, 'g', -1, 64)
	case types.Decimal:
		return append(dst, types.Format(v, t, nil)...)
	case types.Timestamp:
		return appendJSONString(dst, types.Format(v, t, nil))
	case types.TimestampLTZ:
		return appendJSONString(dst, types.Format(v, t, time.UTC)+"Z")
	}
	return appendJSONString(dst, v.Str())
}

func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // never fails for a string
	return append(dst, b...)
}
