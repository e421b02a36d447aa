package ast

import (
	"strings"
	"unicode"

	"github.com/weirstream/weir/sql/types"
)

// reserved are the words that cannot be an unquoted identifier: the
// parser reads them as keywords wherever a name could stand. Other
// keywords (TABLES, SECOND, …) are keywords only where the grammar expects
// them.
var reserved = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`ALL AND ANY AS ASC BETWEEN BOTH BY CASE CAST CREATE CROSS
		CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP DATE DESC DESCRIPTOR DISTINCT ELSE END ESCAPE
		EXCEPT EXISTS EXTRACT FALSE FETCH FILTER FOR FROM FULL GROUP HAVING IN INNER INSERT INTERSECT
		INTERVAL INTO IS JOIN LATERAL LEADING LEFT LIKE LIMIT LOCALTIME LOCALTIMESTAMP MINUS NATURAL
		NOT NULL OFFSET ON OR ORDER OUTER OVER POSITION RIGHT ROW SELECT SIMILAR SUBSTRING
		SYMMETRIC TABLE THEN TIME TIMESTAMP TRAILING TRIM TRUE TRY_CAST UNION UNKNOWN USING VALUES
		WHEN WHERE WINDOW WITH`) {
		reserved[w] = true
	}
}

// IsReserved reports whether word (any case) is a reserved keyword, which
// must be quoted with backquotes to be used as a name.
func IsReserved(word string) bool { return reserved[upper(word)] }

func upper(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' || c >= 0x80 {
			return strings.ToUpper(s)
		}
	}
	return s
}

// IsIdentStart and IsIdentPart say which runes make an unquoted
// identifier: a letter or _ first, then letters, digits, _ and $.
func IsIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }

// IsIdentPart reports whether r may continue an unquoted identifier.
func IsIdentPart(r rune) bool {
	return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// Ident returns name as SQL writes it: bare if it can be, else in
// backquotes with inner backquotes doubled. Names that are time units
// (day, minute, …) are quoted too, as Flink needs them to be, since the
// grammar reads a bare unit as a keyword in some places.
func Ident(name string) string {
	bare := name != "" && !IsReserved(name) && LookupUnit(name) == NoUnit
	for i, r := range name {
		if i == 0 && !IsIdentStart(r) || !IsIdentPart(r) {
			bare = false
			break
		}
	}
	if bare {
		return name
	}
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// QualifiedName returns a dotted name, each part as [Ident] writes it.
func QualifiedName(parts []string) string {
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = Ident(p)
	}
	return strings.Join(s, ".")
}

// Quote returns s as a SQL string literal.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// TypeString returns t as SQL writes it in a column definition, with ROW
// field names quoted where they must be.
func TypeString(t types.Type) string {
	var s string
	switch t.Kind {
	case types.Record:
		var b strings.Builder
		b.WriteString("ROW<")
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(Ident(f.Name) + " " + TypeString(f.Type))
		}
		b.WriteString(">")
		s = b.String()
		if t.NotNull {
			s += " NOT NULL"
		}
	default:
		s = t.String()
	}
	return s
}

func identList(names []string) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = Ident(n)
	}
	return strings.Join(s, ", ")
}

func exprList(es []Expr) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.String()
	}
	return strings.Join(s, ", ")
}

func aliasString(alias string, cols []string) string {
	s := ""
	if alias != "" {
		s = " AS " + Ident(alias)
	}
	if cols != nil {
		s += " (" + identList(cols) + ")"
	}
	return s
}

// ---- Statements ----

// String returns the CreateTable as SQL text.
func (s *CreateTable) String() string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if s.Temporary {
		b.WriteString("TEMPORARY ")
	}
	b.WriteString("TABLE ")
	if s.IfNotExists {
		b.WriteString("IF NOT EXISTS ")
	}
	b.WriteString(QualifiedName(s.Name))
	b.WriteString(" (")
	var parts []string
	for _, c := range s.Columns {
		parts = append(parts, c.String())
	}
	if s.Watermark != nil {
		parts = append(parts, s.Watermark.String())
	}
	if s.PrimaryKey != nil {
		parts = append(parts, "PRIMARY KEY ("+identList(s.PrimaryKey)+") NOT ENFORCED")
	}
	b.WriteString(strings.Join(parts, ", "))
	b.WriteString(")")
	if s.Comment != nil {
		b.WriteString(" COMMENT " + Quote(*s.Comment))
	}
	if s.Options != nil {
		b.WriteString(" WITH (")
		for i, o := range s.Options {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(Quote(o.Key) + " = " + Quote(o.Value))
		}
		b.WriteString(")")
	}
	return b.String()
}

// String returns the column's definition.
func (c Column) String() string {
	s := Ident(c.Name)
	switch upper(c.Name) {
	case "WATERMARK", "PRIMARY", "CONSTRAINT":
		// These start the other elements of a column list.
		s = "`" + c.Name + "`"
	}
	switch {
	case c.Computed != nil:
		s += " AS " + c.Computed.String()
	default:
		s += " " + TypeString(c.Type)
		if c.Metadata {
			s += " METADATA"
			if c.MetadataKey != "" {
				s += " FROM " + Quote(c.MetadataKey)
			}
			if c.Virtual {
				s += " VIRTUAL"
			}
		}
	}
	if c.Comment != nil {
		s += " COMMENT " + Quote(*c.Comment)
	}
	return s
}

// String returns the Watermark as SQL text.
func (w *Watermark) String() string {
	return "WATERMARK FOR " + Ident(w.Column) + " AS " + w.Expr.String()
}

// String returns the CreateView as SQL text.
func (s *CreateView) String() string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if s.Temporary {
		b.WriteString("TEMPORARY ")
	}
	b.WriteString("VIEW ")
	if s.IfNotExists {
		b.WriteString("IF NOT EXISTS ")
	}
	b.WriteString(QualifiedName(s.Name))
	if s.Columns != nil {
		b.WriteString(" (" + identList(s.Columns) + ")")
	}
	b.WriteString(" AS " + s.Query.String())
	return b.String()
}

// String returns the CreateFunction as SQL text.
func (s *CreateFunction) String() string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if s.Temporary {
		b.WriteString("TEMPORARY ")
		if s.System {
			b.WriteString("SYSTEM ")
		}
	}
	b.WriteString("FUNCTION ")
	if s.IfNotExists {
		b.WriteString("IF NOT EXISTS ")
	}
	b.WriteString(QualifiedName(s.Name) + " AS " + Quote(s.GoName))
	if s.Language != "" {
		b.WriteString(" LANGUAGE " + s.Language)
	}
	return b.String()
}

// String returns the Drop as SQL text.
func (s *Drop) String() string {
	var b strings.Builder
	b.WriteString("DROP ")
	if s.Temporary {
		b.WriteString("TEMPORARY ")
		if s.System {
			b.WriteString("SYSTEM ")
		}
	}
	b.WriteString(s.Kind.String() + " ")
	if s.IfExists {
		b.WriteString("IF EXISTS ")
	}
	b.WriteString(QualifiedName(s.Name))
	return b.String()
}

// String returns the Insert as SQL text.
func (s *Insert) String() string {
	kw := "INSERT INTO "
	if s.Overwrite {
		kw = "INSERT OVERWRITE "
	}
	out := kw + QualifiedName(s.Table)
	if s.Columns != nil {
		out += " (" + identList(s.Columns) + ")"
	}
	return out + " " + s.Query.String()
}

// String returns the Explain as SQL text.
func (s *Explain) String() string {
	out := "EXPLAIN "
	if len(s.Details) > 0 {
		out += strings.Join(s.Details, ", ") + " "
	}
	return out + s.Statement.String()
}

// String returns the Set as SQL text.
func (s *Set) String() string {
	if s.Key == "" {
		return "SET"
	}
	return "SET " + Quote(s.Key) + " = " + Quote(s.Value)
}

// String returns the Reset as SQL text.
func (s *Reset) String() string {
	if s.Key == "" {
		return "RESET"
	}
	return "RESET " + Quote(s.Key)
}

// String returns the Show as SQL text.
func (s *Show) String() string { return "SHOW " + s.Kind.String() + "S" }

// String returns the Describe as SQL text.
func (s *Describe) String() string { return "DESCRIBE " + QualifiedName(s.Name) }

// String returns the BeginStatementSet as SQL text.
func (s *BeginStatementSet) String() string { return "BEGIN STATEMENT SET" }

// String returns the EndStatementSet as SQL text.
func (s *EndStatementSet) String() string { return "END" }

// ---- Queries ----

// String returns the Query as SQL text.
func (q *Query) String() string {
	var b strings.Builder
	if len(q.With) > 0 {
		b.WriteString("WITH ")
		for i, c := range q.With {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(Ident(c.Name))
			if c.Columns != nil {
				b.WriteString(" (" + identList(c.Columns) + ")")
			}
			b.WriteString(" AS (" + c.Query.String() + ")")
		}
		b.WriteString(" ")
	}
	_, nested := q.Body.(*Query)
	b.WriteString(bodyString(q.Body, nested))
	if len(q.OrderBy) > 0 {
		b.WriteString(" ORDER BY " + orderString(q.OrderBy))
	}
	if q.Limit != nil {
		b.WriteString(" LIMIT " + q.Limit.String())
	}
	return b.String()
}

// bodyString prints a query body; paren asks for parentheses around a set
// operation or a nested query.
func bodyString(b QueryBody, paren bool) string {
	switch b.(type) {
	case *SetOp, *Query:
		if paren {
			return "(" + b.String() + ")"
		}
	}
	return b.String()
}

func orderString(items []OrderItem) string {
	s := make([]string, len(items))
	for i, o := range items {
		s[i] = o.String()
	}
	return strings.Join(s, ", ")
}

// String returns the item as SQL writes it.
func (o OrderItem) String() string {
	s := o.Expr.String()
	if o.Desc {
		s += " DESC"
	}
	if o.Nulls != "" {
		s += " NULLS " + o.Nulls
	}
	return s
}

// String returns the Select as SQL text.
func (s *Select) String() string {
	var b strings.Builder
	b.WriteString("SELECT ")
	if s.Distinct {
		b.WriteString("DISTINCT ")
	}
	for i, it := range s.Items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(it.Expr.String())
		if it.Alias != "" {
			b.WriteString(" AS " + Ident(it.Alias))
		}
	}
	if s.From != nil {
		b.WriteString(" FROM " + s.From.String())
	}
	if s.Where != nil {
		b.WriteString(" WHERE " + s.Where.String())
	}
	if len(s.GroupBy) > 0 {
		b.WriteString(" GROUP BY " + exprList(s.GroupBy))
	}
	if s.Having != nil {
		b.WriteString(" HAVING " + s.Having.String())
	}
	return b.String()
}

// String returns the SetOp as SQL text.
func (s *SetOp) String() string {
	op := s.Kind.String()
	if s.All {
		op += " ALL"
	}
	// Set operations are left-associative; INTERSECT binds tighter than
	// UNION and EXCEPT.
	left := bodyString(s.Left, isLooserSetOp(s.Left, s.Kind))
	if _, ok := s.Left.(*Query); ok {
		left = bodyString(s.Left, true)
	}
	return left + " " + op + " " + bodyString(s.Right, true)
}

func isLooserSetOp(b QueryBody, parent SetOpKind) bool {
	o, ok := b.(*SetOp)
	return ok && parent == Intersect && o.Kind != Intersect
}

// String returns the Values as SQL text.
func (v *Values) String() string {
	rows := make([]string, len(v.Rows))
	for i, r := range v.Rows {
		rows[i] = "(" + exprList(r) + ")"
	}
	return "VALUES " + strings.Join(rows, ", ")
}

// String returns the TableName as SQL text.
func (t *TableName) String() string {
	s := QualifiedName(t.Name)
	if t.SystemTime != nil {
		s += " FOR SYSTEM_TIME AS OF " + t.SystemTime.String()
	}
	return s + aliasString(t.Alias, t.ColumnAliases)
}

// String returns the Subquery as SQL text.
func (t *Subquery) String() string {
	return "(" + t.Query.String() + ")" + aliasString(t.Alias, t.ColumnAliases)
}

// String returns the TableFunc as SQL text.
func (t *TableFunc) String() string {
	s := "TABLE(" + t.Call.String() + ")"
	if t.Lateral {
		s = "LATERAL " + s
	}
	return s + aliasString(t.Alias, t.ColumnAliases)
}

// String returns the Join as SQL text.
func (j *Join) String() string {
	right := j.Right.String()
	if _, ok := j.Right.(*Join); ok {
		right = "(" + right + ")"
	}
	s := j.Left.String()
	if j.Kind == CommaJoin {
		s += ", " + right
	} else {
		s += " " + j.Kind.String() + " " + right
	}
	if j.On != nil {
		s += " ON " + j.On.String()
	}
	if j.Using != nil {
		s += " USING (" + identList(j.Using) + ")"
	}
	return s
}

// ---- Expressions ----

// Precedence returns how tightly e binds when printed: an operand whose
// precedence is lower than its operator needs parentheses.
func Precedence(e Expr) int {
	switch e := e.(type) {
	case *Binary:
		return e.Op.Precedence()
	case *Unary:
		if e.Op == Not {
			return PrecNot
		}
		return PrecUnary
	case *Is:
		return PrecIs
	case *Between, *In, *Like:
		return PrecLike
	case *NamedArg:
		return 0
	}
	return PrecPrimary
}

// operand prints e, in parentheses if it binds looser than min.
func operand(e Expr, min int) string {
	if Precedence(e) < min {
		return "(" + e.String() + ")"
	}
	return e.String()
}

// String returns the NumberLit as SQL text.
func (e *NumberLit) String() string { return e.Text }

// String returns the StringLit as SQL text.
func (e *StringLit) String() string { return Quote(e.Value) }

// String returns the BoolLit as SQL text.
func (e *BoolLit) String() string {
	if e.Value {
		return "TRUE"
	}
	return "FALSE"
}

// String returns the NullLit as SQL text.
func (e *NullLit) String() string { return "NULL" }

// String returns the IntervalLit as SQL text.
func (e *IntervalLit) String() string {
	s := "INTERVAL " + Quote(e.Value) + " " + e.Unit.String()
	if e.To != NoUnit {
		s += " TO " + e.To.String()
	}
	return s
}

// String returns the TypedLit as SQL text.
func (e *TypedLit) String() string { return e.Type + " " + Quote(e.Value) }

// String returns the ColumnRef as SQL text.
func (e *ColumnRef) String() string { return QualifiedName(e.Names) }

// String returns the Star as SQL text.
func (e *Star) String() string {
	if e.Table == nil {
		return "*"
	}
	return QualifiedName(e.Table) + ".*"
}

// String returns the Unary as SQL text.
func (e *Unary) String() string {
	switch e.Op {
	case Not:
		return "NOT " + operand(e.X, PrecNot)
	case Neg, Plus:
		op := "-"
		if e.Op == Plus {
			op = "+"
		}
		x := operand(e.X, PrecUnary)
		if strings.HasPrefix(x, "-") || strings.HasPrefix(x, "+") {
			// --x would start a comment; a space, unlike parentheses,
			// keeps the text as deep as the tree.
			return op + " " + x
		}
		return op + x
	}
	return "?" + e.X.String()
}

// String returns the Binary as SQL text.
func (e *Binary) String() string {
	p := e.Op.Precedence()
	return operand(e.L, p) + " " + e.Op.String() + " " + operand(e.R, p+1)
}

// String returns the Is as SQL text.
func (e *Is) String() string {
	s := operand(e.X, PrecIs) + " IS "
	if e.Not {
		s += "NOT "
	}
	switch e.What {
	case IsNull:
		s += "NULL"
	case IsTrue:
		s += "TRUE"
	case IsFalse:
		s += "FALSE"
	default:
		s += "UNKNOWN"
	}
	return s
}

func not(b bool) string {
	if b {
		return " NOT"
	}
	return ""
}

// String returns the Between as SQL text.
func (e *Between) String() string {
	s := operand(e.X, PrecLike) + not(e.Not) + " BETWEEN "
	if e.Symmetric {
		s += "SYMMETRIC "
	}
	return s + operand(e.Lo, PrecLike+1) + " AND " + operand(e.Hi, PrecLike+1)
}

// String returns the In as SQL text.
func (e *In) String() string {
	s := operand(e.X, PrecLike) + not(e.Not) + " IN ("
	if e.Query != nil {
		return s + e.Query.String() + ")"
	}
	return s + exprList(e.List) + ")"
}

// String returns the Like as SQL text.
func (e *Like) String() string {
	op := " LIKE "
	if e.Similar {
		op = " SIMILAR TO "
	}
	s := operand(e.X, PrecLike) + not(e.Not) + op + operand(e.Pattern, PrecLike+1)
	if e.Escape != nil {
		s += " ESCAPE " + operand(e.Escape, PrecLike+1)
	}
	return s
}

// String returns the Case as SQL text.
func (e *Case) String() string {
	var b strings.Builder
	b.WriteString("CASE")
	if e.Operand != nil {
		b.WriteString(" " + e.Operand.String())
	}
	for _, w := range e.Whens {
		b.WriteString(" WHEN " + w.Cond.String() + " THEN " + w.Result.String())
	}
	if e.Else != nil {
		b.WriteString(" ELSE " + e.Else.String())
	}
	b.WriteString(" END")
	return b.String()
}

// String returns the Cast as SQL text.
func (e *Cast) String() string {
	kw := "CAST("
	if e.Try {
		kw = "TRY_CAST("
	}
	return kw + e.X.String() + " AS " + TypeString(e.Type) + ")"
}

// String returns the Call as SQL text.
func (e *Call) String() string {
	name := e.Name
	if !e.NoParens && !isPlainSubstring(e) && (IsReserved(name) || !isBareName(name) || isGroupingWord(name)) ||
		e.NoParens && !isBareName(name) {
		name = Ident(name)
	}
	if e.NoParens {
		return name
	}
	var b strings.Builder
	b.WriteString(name + "(")
	switch {
	case e.Star:
		b.WriteString("*")
	default:
		if e.Distinct {
			b.WriteString("DISTINCT ")
		}
		b.WriteString(exprList(e.Args))
	}
	b.WriteString(")")
	if e.Filter != nil {
		b.WriteString(" FILTER (WHERE " + e.Filter.String() + ")")
	}
	if e.Over != nil {
		b.WriteString(" OVER " + e.Over.String())
	}
	return b.String()
}

// isGroupingWord reports whether name is CUBE or ROLLUP, which the parser
// refuses as calls in GROUP BY unless quoted.
func isGroupingWord(name string) bool { w := upper(name); return w == "CUBE" || w == "ROLLUP" }

// isPlainSubstring reports whether e is SUBSTRING(x, a [, b]), which the
// parser reads with its reserved name.
func isPlainSubstring(e *Call) bool {
	return upper(e.Name) == "SUBSTRING" && !e.Distinct && !e.Star && e.Filter == nil && e.Over == nil &&
		(len(e.Args) == 2 || len(e.Args) == 3) && !hasNamedArg(e.Args)
}

func hasNamedArg(args []Expr) bool {
	for _, a := range args {
		if _, ok := a.(*NamedArg); ok {
			return true
		}
	}
	return false
}

func isBareName(name string) bool {
	for i, r := range name {
		if i == 0 && !IsIdentStart(r) || !IsIdentPart(r) {
			return false
		}
	}
	return name != ""
}

// String returns the Window as SQL text.
func (w *Window) String() string {
	var parts []string
	if len(w.PartitionBy) > 0 {
		parts = append(parts, "PARTITION BY "+exprList(w.PartitionBy))
	}
	if len(w.OrderBy) > 0 {
		parts = append(parts, "ORDER BY "+orderString(w.OrderBy))
	}
	if w.Frame != nil {
		parts = append(parts, w.Frame.String())
	}
	return "(" + strings.Join(parts, " ") + ")"
}

// String returns the frame as SQL writes it.
func (f Frame) String() string {
	s := "RANGE "
	if f.Rows {
		s = "ROWS "
	}
	if f.End.Kind == NoBound {
		return s + f.Start.String()
	}
	return s + "BETWEEN " + f.Start.String() + " AND " + f.End.String()
}

// String returns the bound as SQL writes it.
func (b FrameBound) String() string {
	switch b.Kind {
	case UnboundedPreceding:
		return "UNBOUNDED PRECEDING"
	case UnboundedFollowing:
		return "UNBOUNDED FOLLOWING"
	case CurrentRow:
		return "CURRENT ROW"
	case Preceding:
		return boundOffset(b.Offset) + " PRECEDING"
	case Following:
		return boundOffset(b.Offset) + " FOLLOWING"
	}
	return ""
}

// boundOffset prints a frame's offset: in parentheses unless it is a
// primary (the AND of BETWEEN … AND … would take it apart), and a name
// that reads as UNBOUNDED too.
func boundOffset(e Expr) string {
	var first string
	switch e := e.(type) {
	case *ColumnRef:
		first = e.Names[0]
	case *Call:
		first = e.Name
	}
	if Precedence(e) < PrecPrimary || upper(first) == "UNBOUNDED" {
		return "(" + e.String() + ")"
	}
	return e.String()
}

// String returns the NamedArg as SQL text.
func (e *NamedArg) String() string {
	name := e.Name
	if !isBareName(name) {
		name = Ident(name)
	}
	return name + " => " + e.Value.String()
}

// String returns the TableArg as SQL text.
func (e *TableArg) String() string {
	s := "TABLE " + QualifiedName(e.Name)
	switch len(e.PartitionBy) {
	case 0:
	case 1:
		s += " PARTITION BY " + Ident(e.PartitionBy[0])
	default:
		s += " PARTITION BY (" + identList(e.PartitionBy) + ")"
	}
	return s
}

// String returns the Descriptor as SQL text.
func (e *Descriptor) String() string { return "DESCRIPTOR(" + identList(e.Columns) + ")" }

// String returns the Extract as SQL text.
func (e *Extract) String() string {
	return "EXTRACT(" + e.Unit.String() + " FROM " + e.X.String() + ")"
}

// String returns the UnitArg as SQL text.
func (e *UnitArg) String() string { return e.Unit.String() }

// String returns the Trim as SQL text.
func (e *Trim) String() string {
	if e.Side == "" && e.Chars == nil {
		return "TRIM(" + e.X.String() + ")"
	}
	s := "TRIM("
	if e.Side != "" {
		s += e.Side + " "
	}
	if e.Chars != nil {
		s += e.Chars.String() + " "
	}
	return s + "FROM " + e.X.String() + ")"
}

// String returns the RowExpr as SQL text.
func (e *RowExpr) String() string {
	if e.Explicit {
		return "ROW(" + exprList(e.Fields) + ")"
	}
	return "(" + exprList(e.Fields) + ")"
}

// String returns the SubqueryExpr as SQL text.
func (e *SubqueryExpr) String() string { return "(" + e.Query.String() + ")" }

// String returns the Exists as SQL text.
func (e *Exists) String() string { return "EXISTS (" + e.Query.String() + ")" }
