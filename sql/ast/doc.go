// Package ast is the syntax tree of weir's SQL, the Flink SQL dialect
// (Flink 1.13) that package sql/parser reads.
//
// The tree is syntax only: names are not resolved, types of expressions are
// not known, and a construct the planner does not support still has a node,
// so that the planner can refuse it by name. Four interfaces split the
// nodes:
//
//   - [Statement]: one SQL statement — [CreateTable], [CreateView],
//     [CreateFunction], [Drop], [Insert], [Query], [Explain], [Set],
//     [Reset], [Show], [Describe], and [BeginStatementSet] and
//     [EndStatementSet] around INSERTs that run as one job.
//   - [QueryBody]: what a [Query] computes — [Select], [SetOp] (UNION ALL
//     and friends), [Values], or a nested [Query] that has its own WITH,
//     ORDER BY or LIMIT.
//   - [TableExpr]: an item of FROM — [TableName] (optionally FOR
//     SYSTEM_TIME AS OF), [Subquery], [TableFunc] (TABLE(TUMBLE(…)) and
//     the other windowing table-valued functions), [Join].
//   - [Expr]: a scalar expression — literals, [ColumnRef], [Unary],
//     [Binary], [Call] (aggregates with FILTER and OVER included), [Case],
//     [Cast], and the special forms SQL has its own syntax for.
//
// Every node embeds a [Pos]: where it starts in the source (byte offset,
// line and column, all counted from 1 except the offset), so the planner
// can point at the text when it refuses something. String returns the node
// as SQL text; parsing that text gives the same tree again, positions
// aside (the parser's fuzz test checks it). Keywords print in upper case;
// identifiers keep their case and are quoted with backquotes only where
// they must be.
//
// [Inspect] walks a tree (to find the aggregates of a query, say), and
// [IntervalLit.Millis] gives the length of a day-time interval, as window
// sizes and watermark delays need it.
//
// Column types are [types.Type] values: ROW<…> columns keep their fields
// here, and the planner flattens them (types.Schema.Flatten).
//
// Example: the tree of
//
//	SELECT window_start, COUNT(*) AS pv
//	FROM TABLE(TUMBLE(TABLE access_log, DESCRIPTOR(time_local), INTERVAL '1' MINUTE))
//	GROUP BY window_start, window_end
//
// is a *Query whose Body is a *Select with two Items — a *ColumnRef
// {Names: [window_start]} and a *Call{Name: "COUNT", Star: true} aliased
// pv — whose From is a *TableFunc whose Call is TUMBLE with the arguments
// *TableArg{Name: [access_log]}, *Descriptor{Columns: [time_local]} and
// *IntervalLit{Value: "1", Unit: Minute}, and whose GroupBy holds two
// *ColumnRef.
package ast
