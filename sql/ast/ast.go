package ast

import (
	"github.com/weirstream/weir/sql/types"
)

// Pos is where a node starts in the source text.
type Pos struct {
	Offset int // byte offset, from 0
	Line   int // line, from 1
	Column int // column in bytes, from 1
}

// Position returns p; nodes embed a Pos and so have this method.
func (p Pos) Position() Pos { return p }

// Node is a node of the syntax tree.
type Node interface {
	// Position returns where the node starts in the source.
	Position() Pos
	// String returns the node as SQL text that parses to the same node.
	String() string
}

// Statement is one SQL statement.
type Statement interface {
	Node
	statement()
}

// QueryBody is what a query computes: a *Select, *SetOp, *Values or a
// nested *Query (one with its own WITH, ORDER BY or LIMIT).
type QueryBody interface {
	Node
	queryBody()
}

// TableExpr is an item of a FROM clause: *TableName, *Subquery, *TableFunc
// or *Join.
type TableExpr interface {
	Node
	tableExpr()
}

// Expr is a scalar expression.
type Expr interface {
	Node
	expr()
}

// ---- Statements ----

// CreateTable is CREATE [TEMPORARY] TABLE [IF NOT EXISTS] name (…) WITH (…).
type CreateTable struct {
	Pos
	Name        []string // the table's name, its parts as written: catalog.db.table
	Temporary   bool
	IfNotExists bool
	Columns     []Column
	// Watermark is WATERMARK FOR col AS expr, or nil.
	Watermark *Watermark
	// PrimaryKey lists the columns of PRIMARY KEY (…) NOT ENFORCED, given
	// as a table constraint or on one column; nil if none.
	PrimaryKey []string
	Comment    *string
	// Options are the WITH ('key' = 'value', …) options in the order
	// written.
	Options []Option
}

// Column is a column of CREATE TABLE: a physical column (Type), a
// computed column (Computed, name AS expr) or a metadata column (Metadata).
type Column struct {
	Pos
	Name string
	// Type is the declared type of a physical or metadata column; its
	// NotNull is set by NOT NULL. It is the zero Type for a computed column.
	Type types.Type
	// Computed is the expression of a computed column, name AS expr.
	Computed Expr
	// Metadata is set for name type METADATA [FROM 'key'] [VIRTUAL];
	// MetadataKey is the key ("" when it is the column's name).
	Metadata    bool
	MetadataKey string
	Virtual     bool
	Comment     *string
}

// Watermark is WATERMARK FOR Column AS Expr.
type Watermark struct {
	Pos
	Column string
	Expr   Expr
}

// Option is one 'key' = 'value' of a WITH clause; Pos is where its key
// is, for errors about the option.
type Option struct {
	Pos
	Key, Value string
}

// CreateView is CREATE [TEMPORARY] VIEW [IF NOT EXISTS] name [(cols)] AS query.
type CreateView struct {
	Pos
	Name        []string
	Temporary   bool
	IfNotExists bool
	Columns     []string // column aliases, or nil
	Query       *Query
}

// CreateFunction is CREATE [TEMPORARY [SYSTEM]] FUNCTION [IF NOT EXISTS]
// name AS 'go-name' [LANGUAGE GO]: it names a Go function that the host
// program registered under GoName.
type CreateFunction struct {
	Pos
	Name        []string
	Temporary   bool
	System      bool
	IfNotExists bool
	GoName      string
	// Language is "GO" when LANGUAGE GO was written, else "". The parser
	// refuses every other language.
	Language string
}

// ObjectKind is what a DROP, SHOW or CREATE names.
type ObjectKind uint8

// The kinds of catalog objects.
const (
	TableObject ObjectKind = iota + 1
	ViewObject
	FunctionObject
)

// String returns the kind's keyword.
func (k ObjectKind) String() string {
	switch k {
	case TableObject:
		return "TABLE"
	case ViewObject:
		return "VIEW"
	case FunctionObject:
		return "FUNCTION"
	}
	return "OBJECT"
}

// Drop is DROP [TEMPORARY [SYSTEM]] TABLE|VIEW|FUNCTION [IF EXISTS] name.
type Drop struct {
	Pos
	Kind      ObjectKind
	Name      []string
	Temporary bool
	System    bool
	IfExists  bool
}

// Insert is INSERT INTO|OVERWRITE table [(cols)] query.
type Insert struct {
	Pos
	Table     []string
	Overwrite bool
	Columns   []string // the target columns, or nil for all of them
	Query     *Query
}

// Explain is EXPLAIN [PLAN FOR] statement; Details are the optional
// ESTIMATED_COST, CHANGELOG_MODE, JSON_EXECUTION_PLAN words, upper case.
type Explain struct {
	Pos
	Details   []string
	Statement Statement
}

// Set is SET 'key' = 'value', or a bare SET (Key == "") that lists the
// session's settings.
type Set struct {
	Pos
	Key, Value string
}

// Reset is RESET 'key', or a bare RESET (Key == "") that resets all keys.
type Reset struct {
	Pos
	Key string
}

// Show is SHOW TABLES, SHOW VIEWS or SHOW FUNCTIONS.
type Show struct {
	Pos
	Kind ObjectKind
}

// Describe is DESCRIBE name (or DESC name).
type Describe struct {
	Pos
	Name []string
}

// BeginStatementSet is BEGIN STATEMENT SET: the INSERTs up to the next
// [EndStatementSet] run as one job, as in Flink's SQL client.
type BeginStatementSet struct {
	Pos
}

// EndStatementSet is END, which closes a statement set.
type EndStatementSet struct {
	Pos
}

// ---- Queries ----

// Query is a query with its optional WITH, ORDER BY and LIMIT. It is a
// statement on its own and the operand of subqueries, views and INSERT.
type Query struct {
	Pos
	With    []CTE
	Body    QueryBody
	OrderBy []OrderItem
	Limit   Expr // nil if none
}

// CTE is one name [(cols)] AS (query) of a WITH clause.
type CTE struct {
	Pos
	Name    string
	Columns []string
	Query   *Query
}

// OrderItem is expr [ASC|DESC] [NULLS FIRST|LAST].
type OrderItem struct {
	Expr Expr
	Desc bool
	// Nulls is "FIRST", "LAST" or "" when not written.
	Nulls string
}

// Select is SELECT [DISTINCT] items [FROM …] [WHERE …] [GROUP BY …]
// [HAVING …].
type Select struct {
	Pos
	Distinct bool
	Items    []SelectItem
	From     TableExpr // nil for SELECT without FROM
	Where    Expr
	GroupBy  []Expr
	Having   Expr
}

// SelectItem is expr [AS alias], or a *Star.
type SelectItem struct {
	Expr  Expr
	Alias string // "" if none
}

// SetOpKind is UNION, INTERSECT or EXCEPT.
type SetOpKind uint8

// The set operations.
const (
	Union SetOpKind = iota + 1
	Intersect
	Except
)

// String returns the operation's keyword.
func (k SetOpKind) String() string {
	switch k {
	case Union:
		return "UNION"
	case Intersect:
		return "INTERSECT"
	case Except:
		return "EXCEPT"
	}
	return "SETOP"
}

// SetOp is Left UNION|INTERSECT|EXCEPT [ALL] Right.
type SetOp struct {
	Pos
	Kind        SetOpKind
	All         bool
	Left, Right QueryBody
}

// Values is VALUES (…), (…).
type Values struct {
	Pos
	Rows [][]Expr
}

// TableName is a table or view by name, as a FROM item: name [FOR
// SYSTEM_TIME AS OF expr] [[AS] alias [(cols)]].
type TableName struct {
	Pos
	Name []string
	// SystemTime is the expression of FOR SYSTEM_TIME AS OF (a lookup join
	// or temporal join), or nil.
	SystemTime    Expr
	Alias         string
	ColumnAliases []string
}

// Subquery is (query) [AS] alias [(cols)] as a FROM item.
type Subquery struct {
	Pos
	Query         *Query
	Alias         string
	ColumnAliases []string
}

// TableFunc is [LATERAL] TABLE(call) [[AS] alias [(cols)]]: a windowing
// table-valued function (TUMBLE, HOP, CUMULATE, SESSION) or a table
// function of the host program.
type TableFunc struct {
	Pos
	Lateral       bool
	Call          *Call
	Alias         string
	ColumnAliases []string
}

// JoinKind is the kind of a join.
type JoinKind uint8

// The joins. Comma is FROM a, b: a cross join written with a comma.
const (
	InnerJoin JoinKind = iota + 1
	LeftJoin
	RightJoin
	FullJoin
	CrossJoin
	CommaJoin
)

// String returns the join's keywords.
func (k JoinKind) String() string {
	switch k {
	case InnerJoin:
		return "JOIN"
	case LeftJoin:
		return "LEFT JOIN"
	case RightJoin:
		return "RIGHT JOIN"
	case FullJoin:
		return "FULL JOIN"
	case CrossJoin:
		return "CROSS JOIN"
	case CommaJoin:
		return ","
	}
	return "JOIN"
}

// Join is Left kind JOIN Right [ON expr | USING (cols)].
type Join struct {
	Pos
	Kind        JoinKind
	Left, Right TableExpr
	On          Expr
	Using       []string
}

// ---- Expressions ----

// NumberLit is a numeric literal as written: 42, 0.908, 1.5e3. The
// planner decides its type: an integer is INT or BIGINT, a number with a
// point is DECIMAL, one with an exponent DOUBLE.
type NumberLit struct {
	Pos
	Text string
}

// StringLit is a character string literal; Value is the text between
// the quotes, with each doubled quote made one.
type StringLit struct {
	Pos
	Value string
}

// BoolLit is TRUE or FALSE.
type BoolLit struct {
	Pos
	Value bool
}

// NullLit is NULL.
type NullLit struct {
	Pos
}

// TimeUnit is a unit of an interval, of EXTRACT or of TIMESTAMPADD.
type TimeUnit uint8

// The time units.
const (
	NoUnit TimeUnit = iota
	Year
	Quarter
	Month
	Week
	Day
	Hour
	Minute
	Second
	Millisecond
	Microsecond
	Nanosecond
	DayOfWeek
	DayOfYear
	Epoch
)

var unitNames = [...]string{
	NoUnit: "", Year: "YEAR", Quarter: "QUARTER", Month: "MONTH", Week: "WEEK", Day: "DAY",
	Hour: "HOUR", Minute: "MINUTE", Second: "SECOND", Millisecond: "MILLISECOND",
	Microsecond: "MICROSECOND", Nanosecond: "NANOSECOND", DayOfWeek: "DOW", DayOfYear: "DOY",
	Epoch: "EPOCH",
}

// String returns the unit's keyword.
func (u TimeUnit) String() string {
	if int(u) < len(unitNames) {
		return unitNames[u]
	}
	return "UNIT"
}

// LookupUnit returns the unit named word (any case; plural forms such as
// SECONDS too), or NoUnit.
func LookupUnit(word string) TimeUnit {
	w := upper(word)
	for u, n := range unitNames {
		if n != "" && (w == n || w == n+"S") {
			return TimeUnit(u)
		}
	}
	switch w {
	case "DAYOFWEEK":
		return DayOfWeek
	case "DAYOFYEAR":
		return DayOfYear
	}
	return NoUnit
}

// IntervalLit is INTERVAL 'Value' Unit [TO To]: INTERVAL '5' SECOND,
// INTERVAL '1 2:03:04' DAY TO SECOND. Value is the string as written (the
// planner parses it for its units).
type IntervalLit struct {
	Pos
	Value string
	Unit  TimeUnit
	To    TimeUnit // NoUnit unless a range such as DAY TO SECOND
}

// TypedLit is DATE 'x', TIME 'x' or TIMESTAMP 'x'; Type is the keyword.
type TypedLit struct {
	Pos
	Type  string
	Value string
}

// ColumnRef is a name in an expression: a, t.a, or t.a.b for the field b
// of the ROW column a. The planner decides which part is the table.
type ColumnRef struct {
	Pos
	Names []string
}

// Star is * or t.* in a select list.
type Star struct {
	Pos
	Table []string // nil for a bare *
}

// UnaryOp is a prefix operator.
type UnaryOp uint8

// The prefix operators.
const (
	Neg  UnaryOp = iota + 1 // -x
	Plus                    // +x
	Not                     // NOT x
)

// Unary is Op X.
type Unary struct {
	Pos
	Op UnaryOp
	X  Expr
}

// BinaryOp is an infix operator.
type BinaryOp uint8

// The infix operators, in increasing precedence groups: OR; AND;
// comparisons; + -; * / % ||.
const (
	Or BinaryOp = iota + 1
	And
	Eq
	Ne // <> and !=
	Lt
	Le
	Gt
	Ge
	Add
	Sub
	Mul
	Div
	Mod
	Concat // ||
)

var binaryNames = [...]string{Or: "OR", And: "AND", Eq: "=", Ne: "<>", Lt: "<", Le: "<=", Gt: ">",
	Ge: ">=", Add: "+", Sub: "-", Mul: "*", Div: "/", Mod: "%", Concat: "||"}

// String returns the operator as SQL writes it.
func (op BinaryOp) String() string {
	if int(op) < len(binaryNames) && binaryNames[op] != "" {
		return binaryNames[op]
	}
	return "?"
}

// Precedence returns how tightly op binds, as in Calcite: OR 13, AND 24,
// comparisons 30, + and - 40, * / % and || 60. All are left-associative.
func (op BinaryOp) Precedence() int {
	switch op {
	case Or:
		return PrecOr
	case And:
		return PrecAnd
	case Eq, Ne, Lt, Le, Gt, Ge:
		return PrecCompare
	case Add, Sub:
		return PrecAdd
	}
	return PrecMul
}

// The precedences of operators (Calcite's). A prefix NOT takes an operand
// at PrecNot; IS … at PrecIs; BETWEEN, LIKE and IN at PrecLike; a prefix
// minus at PrecUnary.
const (
	PrecOr      = 13
	PrecAnd     = 24
	PrecNot     = 26
	PrecIs      = 28
	PrecCompare = 30
	PrecLike    = 32
	PrecAdd     = 40
	PrecMul     = 60
	PrecUnary   = 80
	PrecPrimary = 100
)

// Binary is L Op R.
type Binary struct {
	Pos
	Op   BinaryOp
	L, R Expr
}

// IsWhat is what an IS tests for.
type IsWhat uint8

// The tests of IS.
const (
	IsNull IsWhat = iota + 1
	IsTrue
	IsFalse
	IsUnknown
)

// Is is X IS [NOT] NULL|TRUE|FALSE|UNKNOWN.
type Is struct {
	Pos
	X    Expr
	Not  bool
	What IsWhat
}

// Between is X [NOT] BETWEEN [SYMMETRIC] Lo AND Hi.
type Between struct {
	Pos
	X         Expr
	Not       bool
	Symmetric bool
	Lo, Hi    Expr
}

// In is X [NOT] IN (list) or X [NOT] IN (query); exactly one of List and
// Query is set.
type In struct {
	Pos
	X     Expr
	Not   bool
	List  []Expr
	Query *Query
}

// Like is X [NOT] LIKE|SIMILAR TO Pattern [ESCAPE Escape].
type Like struct {
	Pos
	X       Expr
	Not     bool
	Similar bool
	Pattern Expr
	Escape  Expr // nil if none
}

// When is WHEN Cond THEN Result of a CASE.
type When struct {
	Cond, Result Expr
}

// Case is CASE [Operand] WHEN … THEN … [ELSE …] END: searched when Operand
// is nil, simple otherwise.
type Case struct {
	Pos
	Operand Expr
	Whens   []When
	Else    Expr
}

// Cast is CAST(X AS Type), or TRY_CAST when Try.
type Cast struct {
	Pos
	X    Expr
	Type types.Type
	Try  bool
}

// Call is a function call: Name(args) with its optional DISTINCT, FILTER
// (WHERE …) and OVER (…). COUNT(*) is Star. A niladic function written
// without parentheses (CURRENT_TIMESTAMP, LOCALTIMESTAMP, …) has NoParens.
// SUBSTRING(x FROM a FOR b) and POSITION(a IN b) are Calls with their
// arguments in the usual order. Name keeps the case it was written in;
// function names are case-insensitive.
type Call struct {
	Pos
	Name     string
	Args     []Expr
	Distinct bool
	Star     bool
	NoParens bool
	Filter   Expr
	Over     *Window
}

// Window is the specification of OVER (PARTITION BY … ORDER BY … frame).
type Window struct {
	Pos
	PartitionBy []Expr
	OrderBy     []OrderItem
	Frame       *Frame // nil if none
}

// Frame is ROWS|RANGE BETWEEN Start AND End, or ROWS|RANGE Start (End is
// then the zero FrameBound).
type Frame struct {
	Rows       bool // ROWS, else RANGE
	Start, End FrameBound
}

// BoundKind is the kind of a frame bound.
type BoundKind uint8

// The kinds of frame bounds.
const (
	NoBound BoundKind = iota
	UnboundedPreceding
	Preceding
	CurrentRow
	Following
	UnboundedFollowing
)

// FrameBound is one end of a window frame; Offset is set for Preceding
// and Following.
type FrameBound struct {
	Kind   BoundKind
	Offset Expr
}

// NamedArg is Name => Value, an argument of a table-valued function:
// DATA => TABLE t, TIMECOL => DESCRIPTOR(c), SIZE => INTERVAL '1' MINUTE.
type NamedArg struct {
	Pos
	Name  string
	Value Expr
}

// TableArg is TABLE name [PARTITION BY cols], the table argument of a
// table-valued function; SESSION windows are per partition.
type TableArg struct {
	Pos
	Name        []string
	PartitionBy []string
}

// Descriptor is DESCRIPTOR(col, …), the time attribute argument of a
// windowing table-valued function.
type Descriptor struct {
	Pos
	Columns []string
}

// Extract is EXTRACT(Unit FROM X).
type Extract struct {
	Pos
	Unit TimeUnit
	X    Expr
}

// UnitArg is a time unit as the argument of a function such as
// TIMESTAMPADD(MINUTE, 1, ts) or TIMESTAMPDIFF(SECOND, a, b).
type UnitArg struct {
	Pos
	Unit TimeUnit
}

// Trim is TRIM([BOTH|LEADING|TRAILING] [Chars] FROM X) or TRIM(X).
type Trim struct {
	Pos
	// Side is "BOTH", "LEADING", "TRAILING" or "" when not written.
	Side  string
	Chars Expr // nil when not written: blanks
	X     Expr
}

// RowExpr is ROW(a, b, …), or (a, b, …) with two or more fields.
type RowExpr struct {
	Pos
	Fields   []Expr
	Explicit bool // written with ROW
}

// SubqueryExpr is a scalar subquery: (query).
type SubqueryExpr struct {
	Pos
	Query *Query
}

// Exists is EXISTS (query).
type Exists struct {
	Pos
	Query *Query
}

func (*CreateTable) statement()       {}
func (*CreateView) statement()        {}
func (*CreateFunction) statement()    {}
func (*Drop) statement()              {}
func (*Insert) statement()            {}
func (*Query) statement()             {}
func (*Explain) statement()           {}
func (*Set) statement()               {}
func (*Reset) statement()             {}
func (*Show) statement()              {}
func (*Describe) statement()          {}
func (*BeginStatementSet) statement() {}
func (*EndStatementSet) statement()   {}

func (*Query) queryBody()  {}
func (*Select) queryBody() {}
func (*SetOp) queryBody()  {}
func (*Values) queryBody() {}

func (*TableName) tableExpr() {}
func (*Subquery) tableExpr()  {}
func (*TableFunc) tableExpr() {}
func (*Join) tableExpr()      {}

func (*NumberLit) expr()    {}
func (*StringLit) expr()    {}
func (*BoolLit) expr()      {}
func (*NullLit) expr()      {}
func (*IntervalLit) expr()  {}
func (*TypedLit) expr()     {}
func (*ColumnRef) expr()    {}
func (*Star) expr()         {}
func (*Unary) expr()        {}
func (*Binary) expr()       {}
func (*Is) expr()           {}
func (*Between) expr()      {}
func (*In) expr()           {}
func (*Like) expr()         {}
func (*Case) expr()         {}
func (*Cast) expr()         {}
func (*Call) expr()         {}
func (*NamedArg) expr()     {}
func (*TableArg) expr()     {}
func (*Descriptor) expr()   {}
func (*Extract) expr()      {}
func (*UnitArg) expr()      {}
func (*Trim) expr()         {}
func (*RowExpr) expr()      {}
func (*SubqueryExpr) expr() {}
func (*Exists) expr()       {}
