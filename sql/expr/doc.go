// Package expr holds weir SQL's scalar expressions after name resolution:
// a typed tree over the columns of an input row, and a compiler that turns
// the tree, once, into Go closures evaluated per record.
//
// # The model
//
// The planner resolves a query's names and types and builds an [Expr] for
// every projection, filter, key and argument with this package's
// constructors. It never needs the syntax tree again:
//
//   - [NewColumn] reads input column i (the planner maps names to indexes),
//     [NewLiteral] and its helpers ([Int], [String], [Interval], [Null] …)
//     are constants; [ParseDecimal] and [ParseTimestamp] type the literals
//     0.908 and TIMESTAMP '…' as SQL does.
//   - [NewArith], [NewNeg], [NewCompare], [NewAnd], [NewOr], [NewNot],
//     [NewIs], [NewBetween], [NewIn], [NewLike], [NewCase], [NewCast],
//     [NewConcat] build operators. They check the operand types, insert
//     implicit casts to the common type ([CommonType], [Coerce]) and compute
//     the result type and nullability; a mismatch is an error naming both
//     types and the fix.
//   - [Functions] is a registry of scalar functions: [NewFunctions] preloads
//     the built-ins, [Functions.Register] adds Go functions of the host
//     program ([Scalar], or the typed helpers [Func1], [Func2]), and
//     [Functions.Call] builds a call with its arguments checked, e.g.
//     "SUBSTRING(STRING, STRING): argument 2 must be INT or BIGINT".
//     CREATE FUNCTION f AS 'name' binds a catalog name to a registered one.
//
// [Compile] walks the tree once and returns an [Evaluator]; [CompilePredicate]
// returns a [Predicate] for WHERE and ON (NULL is false). Compilation folds
// constant subexpressions, compiles literal LIKE patterns, regular
// expressions and date formats, and turns a constant IN list into a hash
// set. Evaluation reads the row's values ([]types.Value, the Values of a
// types.Row) and allocates nothing for arithmetic, comparisons and boolean
// logic on numbers. An Evaluator is safe for concurrent use.
//
// Every Expr prints as SQL (String) for EXPLAIN and error messages,
// [Columns] lists the input columns it reads, for projection pushdown, and
// [MapColumns] renumbers them afterwards.
//
// # Semantics
//
//   - NULL propagates through operators and functions; AND, OR and NOT use
//     SQL's three-valued logic; IS [NOT] NULL/TRUE/FALSE is never NULL.
//   - Arithmetic follows Flink's result types (INT op INT is INT, integer
//     division truncates, DECIMAL precision and scale as Flink's rules,
//     capped at 18 digits). Integer and DECIMAL division or MOD by zero is
//     [ErrDivisionByZero] as in Flink; DOUBLE division by zero is ±Inf or
//     NaN. Integer and DECIMAL overflow is [ErrOverflow] where Flink would
//     wrap around silently.
//   - CAST of a value that does not convert is [ErrCast]; TRY_CAST gives
//     NULL. CAST('abc' AS INT) fails; TO_TIMESTAMP of a bad string is NULL.
//   - Run-time errors are returned from Evaluator.Eval, never panics. The
//     caller chooses: Flink fails the job; weir's operators may send the row
//     to the dead letters with the error as its reason.
//   - TIMESTAMP is a wall clock, TIMESTAMP_LTZ an instant. [CompileEnv]'s
//     Location (the session's 'table.local-time-zone', UTC by default)
//     converts between them and shows an LTZ value's fields: HOUR,
//     DATE_FORMAT, EXTRACT and FLOOR … TO of an LTZ read it in that zone.
//   - CURRENT_TIMESTAMP, NOW, LOCALTIMESTAMP, PROCTIME and UNIX_TIMESTAMP()
//     read CompileEnv.Now per evaluation; they are never folded.
//   - Regular expressions are Go's RE2, which matches Java's syntax for
//     common patterns; a pattern RE2 cannot run (backreferences,
//     lookaround) is refused with a message that says so. REGEXP_REPLACE
//     takes Java's $1 in the replacement.
//   - Date formats are Java SimpleDateFormat patterns (yyyy-MM-dd HH:mm:ss.SSS,
//     EEE, MMM, a, h, z, Z, X, quoted text), compiled once.
//
// # Built-in functions
//
// Math: ABS, MOD, FLOOR, CEIL, CEILING, ROUND, POWER, SQRT, LN, LOG, LOG10,
// LOG2, EXP. Strings: LOWER, UPPER, INITCAP, REVERSE, CHAR_LENGTH,
// CHARACTER_LENGTH, TRIM, LTRIM, RTRIM, SUBSTRING, SUBSTR, REPLACE, CONCAT,
// CONCAT_WS, POSITION, LOCATE, LPAD, RPAD, REPEAT, SPLIT_INDEX, REGEXP,
// REGEXP_EXTRACT, REGEXP_REPLACE, MD5, SHA1, SHA256. Conditional: COALESCE,
// IFNULL, NULLIF, IF, GREATEST, LEAST (CASE is [NewCase]; IS [NOT] DISTINCT FROM
// is [NewCompare] with [Distinct] or [NotDistinct]). Time: DATE_FORMAT, TO_TIMESTAMP,
// TO_TIMESTAMP_LTZ, UNIX_TIMESTAMP, FROM_UNIXTIME, YEAR, QUARTER, MONTH,
// WEEK, DAYOFMONTH, DAYOFYEAR, DAYOFWEEK, HOUR, MINUTE, SECOND, EXTRACT,
// TIMESTAMPADD, TIMESTAMPDIFF, FLOOR/CEIL(ts TO unit), CURRENT_TIMESTAMP,
// NOW, LOCALTIMESTAMP, PROCTIME. A keyword argument (a time unit) is passed
// as a STRING literal: see [Functions.Call]. There is no DATE type, so no
// CURRENT_DATE.
//
// # Example
//
// The projection UPPER(uri) and the filter status >= 400 AND uri LIKE
// '/api/%' over a row (uri STRING, status INT):
//
//	fns := expr.NewFunctions()
//	uri := expr.NewColumn(0, "uri", types.StringType)
//	status := expr.NewColumn(1, "status", types.IntType)
//	upper, err := fns.Call("UPPER", uri)
//	ge, err := expr.NewCompare(expr.Ge, status, expr.Int(400))
//	api, err := expr.NewLike(uri, expr.String("/api/%"), "", false)
//	cond, err := expr.NewAnd(ge, api)
//	proj, err := expr.Compile(upper, expr.CompileEnv{})
//	where, err := expr.CompilePredicate(cond, expr.CompileEnv{})
//	row := []types.Value{types.StringValue("/api/x"), types.IntValue(404)}
//	ok, err := where.Test(row)  // true
//	v, err := proj.Eval(row)    // '/API/X'
package expr
