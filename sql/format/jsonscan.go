package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weirstream/weir/sql/types"
)

// maxJSONDepth bounds the nesting the scanner follows, as encoding/json's.
const maxJSONDepth = 10000

// jsonNode is one name in the tree of the columns' paths.
type jsonNode struct {
	col      int   // the column at this path, or -1
	under    []int // the columns at or below this path
	children map[string]*jsonNode
}

// jsonScanner decodes a record in one pass over its bytes, converting only
// the fields that are columns, with encoding/json's rules (the fuzz test
// checks it against referenceDecoder).
type jsonScanner struct {
	root    *jsonNode
	cols    []jsonColumn
	lenient bool
	loc     *time.Location
}

func newJSONScanner(cols []jsonColumn, lenient bool, loc *time.Location) Decoder {
	root := &jsonNode{col: -1}
	for i, c := range cols {
		n := root
		for _, name := range c.path {
			n.under = append(n.under, i)
			if n.children == nil {
				n.children = map[string]*jsonNode{}
			}
			child := n.children[name]
			if child == nil {
				child = &jsonNode{col: -1}
				n.children[name] = child
			}
			n = child
		}
		n.col = i
		n.under = append(n.under, i)
	}
	s := &jsonScanner{root: root, cols: cols, lenient: lenient, loc: loc}
	return s.decode
}

type jsonParser struct {
	data  []byte
	i     int
	depth int
}

var errJSONSyntax = errors.New("invalid JSON")

func (p *jsonParser) syntax() error {
	return fmt.Errorf("json: not a JSON object: %w at byte %d", errJSONSyntax, p.i)
}

func (p *jsonParser) ws() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) eat(c byte) bool {
	if p.i < len(p.data) && p.data[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (s *jsonScanner) decode(data []byte) (types.Row, error) {
	p := jsonParser{data: data}
	values := make([]types.Value, len(s.cols))
	errs := make([]error, len(s.cols))
	p.ws()
	if p.i == len(data) || data[p.i] != '{' {
		v, err := p.value()
		if err != nil {
			return types.Row{}, err
		}
		return types.Row{}, fmt.Errorf("json: not a JSON object: found %s", jsonKind(v))
	}
	if err := s.object(&p, s.root, values, errs); err != nil {
		return types.Row{}, err
	}
	p.ws()
	if p.i != len(data) {
		return types.Row{}, fmt.Errorf("json: more than one JSON value in the record")
	}
	for i, err := range errs {
		if err == nil {
			continue
		}
		if s.lenient {
			values[i] = types.Null
			continue
		}
		return types.Row{}, fmt.Errorf("json: column %s: %v", strings.Join(s.cols[i].path, "."), err)
	}
	return types.Row{Values: values}, nil
}

// object reads an object at p whose fields are node's children. A later
// field of the same name replaces an earlier one, as in encoding/json.
func (s *jsonScanner) object(p *jsonParser, node *jsonNode, values []types.Value, errs []error) error {
	p.depth++
	if p.depth > maxJSONDepth {
		return fmt.Errorf("json: not a JSON object: nested deeper than %d", maxJSONDepth)
	}
	defer func() { p.depth-- }()
	p.i++ // '{'
	p.ws()
	if p.eat('}') {
		return nil
	}
	for {
		p.ws()
		key, err := p.str()
		if err != nil {
			return err
		}
		p.ws()
		if !p.eat(':') {
			return p.syntax()
		}
		p.ws()
		var child *jsonNode
		if node != nil {
			child = node.children[key]
		}
		switch {
		case child == nil:
			if _, err := p.skipValue(); err != nil {
				return err
			}
		case child.col >= 0:
			v, err := p.value()
			if err != nil {
				return err
			}
			values[child.col], errs[child.col] = jsonConvert(v, s.cols[child.col].typ, s.loc)
		default:
			for _, i := range child.under {
				values[i], errs[i] = types.Null, nil
			}
			if p.i < len(p.data) && p.data[p.i] == '{' {
				if err := s.object(p, child, values, errs); err != nil {
					return err
				}
				break
			}
			v, err := p.value()
			if err != nil {
				return err
			}
			if v != nil {
				for _, i := range child.under {
					errs[i] = fmt.Errorf("expected an object, found %s", jsonKind(v))
				}
			}
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return nil
		}
		return p.syntax()
	}
}

// value reads one JSON value as encoding/json decodes it into an any with
// UseNumber: nil, bool, string, json.Number, map[string]any or []any.
func (p *jsonParser) value() (any, error) {
	if p.i >= len(p.data) {
		return nil, p.syntax()
	}
	switch c := p.data[p.i]; {
	case c == '"':
		return p.str()
	case c == '{' || c == '[':
		raw, err := p.skipValue()
		if err != nil {
			return nil, err
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, fmt.Errorf("json: not a JSON object: %v", err)
		}
		return v, nil
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return nil, p.syntax()
}

func (p *jsonParser) literal(word string) error {
	if !bytes.HasPrefix(p.data[p.i:], []byte(word)) {
		return p.syntax()
	}
	p.i += len(word)
	return nil
}

// number reads a number by JSON's grammar.
func (p *jsonParser) number() (json.Number, error) {
	start := p.i
	p.eat('-')
	digits := func() int {
		n := 0
		for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.eat('0') {
		// no more digits may follow a leading zero
	} else if digits() == 0 {
		return "", p.syntax()
	}
	if p.eat('.') && digits() == 0 {
		return "", p.syntax()
	}
	if p.eat('e') || p.eat('E') {
		if !p.eat('+') {
			p.eat('-')
		}
		if digits() == 0 {
			return "", p.syntax()
		}
	}
	return json.Number(p.data[start:p.i]), nil
}

// str reads a string. Plain ASCII without escapes is taken as it is;
// anything else is left to encoding/json, for its escapes and its
// replacement of invalid UTF-8.
func (p *jsonParser) str() (string, error) {
	if !p.eat('"') {
		return "", p.syntax()
	}
	start := p.i
	plain := true
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			if plain {
				return string(p.data[start : p.i-1]), nil
			}
			var s string
			if err := json.Unmarshal(p.data[start-1:p.i], &s); err != nil {
				return "", fmt.Errorf("json: not a JSON object: %v", err)
			}
			return s, nil
		case c == '\\':
			plain = false
			p.i += 2
			continue
		case c < 0x20:
			return "", p.syntax()
		case c >= 0x80:
			plain = false
		}
		p.i++
	}
	return "", p.syntax()
}

// skipValue reads a value it checks but does not keep, and returns its
// bytes.
func (p *jsonParser) skipValue() ([]byte, error) {
	start := p.i
	if p.i >= len(p.data) {
		return nil, p.syntax()
	}
	switch p.data[p.i] {
	case '{', '[':
		p.depth++
		if p.depth > maxJSONDepth {
			return nil, fmt.Errorf("json: not a JSON object: nested deeper than %d", maxJSONDepth)
		}
		defer func() { p.depth-- }()
		open := p.data[p.i]
		end := byte('}')
		if open == '[' {
			end = ']'
		}
		p.i++
		p.ws()
		if p.eat(end) {
			return p.data[start:p.i], nil
		}
		for {
			p.ws()
			if open == '{' {
				if _, err := p.str(); err != nil {
					return nil, err
				}
				p.ws()
				if !p.eat(':') {
					return nil, p.syntax()
				}
				p.ws()
			}
			if _, err := p.skipValue(); err != nil {
				return nil, err
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			if p.eat(end) {
				return p.data[start:p.i], nil
			}
			return nil, p.syntax()
		}
	}
	if _, err := p.value(); err != nil {
		return nil, err
	}
	return p.data[start:p.i], nil
}
