package parser

import (
	"strconv"
	"strings"

	"github.com/weirstream/weir/sql/types"
)

const supportedTypes = "STRING, VARCHAR, BOOLEAN, INT, BIGINT, DOUBLE, DECIMAL(p, s), TIMESTAMP(p), TIMESTAMP_LTZ(p) or ROW<…>"

// dataType reads a column or CAST type, with its NOT NULL.
func (p *parser) dataType() types.Type {
	p.enter()
	defer p.leave()
	t := p.peek()
	if t.kind != tWord {
		p.expected("a type (" + supportedTypes + ")")
	}
	p.next()
	var typ types.Type
	switch w := strings.ToUpper(t.text); w {
	case "STRING":
		typ = types.StringType
	case "VARCHAR", "CHAR", "CHARACTER":
		if w == "CHARACTER" {
			p.acceptWord("VARYING")
		}
		p.optPrecision(w, 1, 1<<31-1)
		typ = types.StringType
	case "BOOLEAN", "BOOL":
		typ = types.BooleanType
	case "TINYINT", "SMALLINT", "INT", "INTEGER":
		typ = types.IntType
	case "BIGINT":
		typ = types.BigIntType
	case "DOUBLE", "FLOAT", "REAL":
		if w == "DOUBLE" {
			p.acceptWord("PRECISION")
		}
		typ = types.DoubleType
	case "DECIMAL", "DEC", "NUMERIC":
		typ = types.DecimalType(10, 0)
		if p.acceptPunct("(") {
			typ.Precision = p.typeNumber(w+"'s precision", 1, types.MaxDecimalPrecision)
			if p.acceptPunct(",") {
				typ.Scale = p.typeNumber(w+"'s scale", 0, typ.Precision)
			}
			p.expectPunct(")", "after "+w+"'s precision and scale")
		}
	case "TIMESTAMP":
		typ = types.Type{Kind: types.Timestamp, Precision: p.optPrecision(w, 0, 9)}
		switch {
		case p.acceptWord("WITHOUT"):
			p.expectWord("TIME", "after WITHOUT")
			p.expectWord("ZONE", "after WITHOUT TIME")
		case p.isWord("WITH"):
			p.next()
			p.expectWord("LOCAL", "after TIMESTAMP WITH (weir has TIMESTAMP WITH LOCAL TIME ZONE)")
			p.expectWord("TIME", "after WITH LOCAL")
			p.expectWord("ZONE", "after WITH LOCAL TIME")
			typ.Kind = types.TimestampLTZ
		}
	case "TIMESTAMP_LTZ":
		typ = types.Type{Kind: types.TimestampLTZ, Precision: p.optPrecision(w, 0, 9)}
	case "ROW":
		typ = types.Type{Kind: types.Record}
		closing := ">"
		if !p.acceptPunct("<") {
			p.expectPunct("(", "or '<' after ROW")
			closing = ")"
		}
		for {
			f := types.Field{Name: p.ident("a field name of the ROW type (a ROW has at least one field)")}
			f.Type = p.dataType()
			if p.acceptWord("COMMENT") {
				p.stringLit("the comment in quotes after COMMENT")
			}
			typ.Fields = append(typ.Fields, f)
			if !p.acceptPunct(",") {
				break
			}
		}
		p.expectPunct(closing, "or ',' after a field of the ROW type")
	default:
		p.failAt(t, "type "+strings.ToUpper(t.text)+" is not supported: use "+supportedTypes)
	}
	if p.isWord("NOT") && isWord(p.peekAt(1), "NULL") {
		p.next()
		p.next()
		typ.NotNull = true
	} else if p.isWord("NULL") {
		p.next()
	}
	return typ
}

// optPrecision reads an optional (n) after the type w; it returns n, or
// Flink's default (6 for timestamps).
func (p *parser) optPrecision(w string, lo, hi int) int {
	if !p.acceptPunct("(") {
		if w == "TIMESTAMP" || w == "TIMESTAMP_LTZ" {
			return 6
		}
		return 0
	}
	n := p.typeNumber(w+"'s precision", lo, hi)
	p.expectPunct(")", "after "+w+"'s precision")
	return n
}

func (p *parser) typeNumber(what string, lo, hi int) int {
	t := p.peek()
	n, err := strconv.Atoi(t.text)
	if t.kind != tNumber || err != nil {
		p.expected("a whole number for " + what)
	}
	if n < lo || n > hi {
		p.failAt(t, what+" must be from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi)+", not "+t.text)
	}
	p.next()
	return n
}
