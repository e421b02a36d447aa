// Package planner turns weir SQL statements into weir jobs: a binder
// resolves the syntax tree (sql/ast) into a logical plan, and a Builder
// compiles the plan onto a weir.Env with sql/exec's row operators,
// sql/expr's compiled expressions and sql/table's connectors.
//
// # The model
//
// A [Planner] holds what names resolve against: the catalog, the table
// factories, the functions and the session time zone. Binding a query
// ([Planner.PlanQuery], [Planner.PlanInsert]) gives a tree of [Node]s, each
// with its schema:
//
//	Scan          a table's physical columns, ROW fields flattened "outer.inner"
//	Calc          filter and projection fused (computed columns, WHERE, SELECT)
//	WindowTVF     TUMBLE/HOP/CUMULATE/SESSION: input, window_start, window_end, window_time
//	WindowAgg     GROUP BY window_start, window_end, keys: keys, window_start, window_end, aggs
//	GroupAgg      GROUP BY without windows (updating)
//	Rank          ROW_NUMBER() … WHERE rn <= N: window Top-N, or deduplication
//	WindowJoin    windowed relations ON window_start, window_end and keys
//	IntervalJoin  keys and l.t BETWEEN r.t - INTERVAL … AND r.t + INTERVAL …
//	LookupJoin    JOIN t FOR SYSTEM_TIME AS OF l.proctime ON t.k = l.k
//	RegularJoin   inner JOIN of insert-only relations ON keys, without a time bound
//	Union         UNION ALL
//	Sink          INSERT INTO: the query cast to the table's columns
//
// The binder tracks, per node, the time attribute (the column a
// WATERMARK declared, kept while projections pass it on), the window
// columns of windowed relations, and whether rows are an updating
// changelog ([Updating]); a sink that takes only inserts refuses an
// updating plan. Views are expanded from their stored SQL, computed
// columns become a Calc above the Scan, and every expression is built
// with sql/expr's constructors, so types and implicit casts are checked
// when a statement is planned. [Explain] prints a plan, one node a line.
//
// A [Builder] adds plans to one weir.Env (a statement set's INSERTs share
// one Builder, and so each table's source). Each Calc's expressions are
// compiled once into closures; a run-time error of one fails the job and
// names the expression. Each operator's uid is the statement's id (the
// sink table), the node's path in the plan and a hash of the node's
// definition, so that the same SQL, started again, restores its state
// from a checkpoint, and a changed node starts afresh.
//
// # Refusals
//
// What the planner does not support is refused with an [*Error] that
// names the construct, says what to write instead, and points at it
// (line, column and a caret): ORDER BY and LIMIT on streams, OVER
// aggregates other than ROW_NUMBER() Top-N and deduplication, outer
// joins without time bounds, joins of updating relations, subqueries in expressions, EXISTS, INTERSECT and
// EXCEPT, UNION without ALL, DISTINCT aggregates other than COUNT,
// year-month intervals, SELECT DISTINCT, WITH, VALUES. Nothing is planned
// silently wrong.
//
// # Example
//
//	p := &planner.Planner{Catalog: cat, Tables: connectors.Default(nil), Functions: expr.NewFunctions()}
//	stmt, err := parser.Parse(src) // INSERT INTO pvuv SELECT …
//	sink, err := p.PlanInsert(stmt.(*ast.Insert), src)
//	fmt.Print(planner.Explain(sink))
//	env := weir.NewEnv(weir.Parallelism(2))
//	err = p.NewBuilder(env).Sink(sink, "insert/pvuv")
//	err = env.Execute(ctx, "pvuv")
//
// Package sql wraps all of this in a Session, which is what programs and
// the `weir sql` client use.
package planner
