// Package parser reads weir's SQL, the Flink SQL dialect (Flink 1.13), into
// the syntax tree of package sql/ast.
//
// It is a hand-written recursive-descent parser. A lexer turns the text
// into tokens: it skips -- and /* */ comments, reads 'strings' (a doubled
// quote stands for one), `names` in backquotes (likewise) and numbers with
// a point or an exponent. Statements and queries are read top-down, and
// expressions by a Pratt parser over Calcite's precedences
// (ast.Precedence). Keywords are case-insensitive; names keep their case. The parser knows no tables or
// functions: a statement that parses may still be refused by the planner,
// which can name the construct and point at its position, since every node
// carries one.
//
// Entry points:
//
//   - [Parse] reads one statement (a trailing ';' is allowed).
//   - [ParseScript] reads the ';'-separated statements of a file, as the
//     SQL client runs them.
//   - [Split] cuts a script into one [Piece] per statement, with its text
//     and position, so that the SQL client can parse and run statements
//     one by one and say which one failed.
//   - [ParseExpr] reads one expression.
//   - [Complete] tells a shell whether the lines it has read end a
//     statement.
//   - [Caret] shows a position as errors do, for the planner's errors.
//
// Types map onto weir's (sql/types): STRING, VARCHAR(n), CHAR(n) and
// CHARACTER VARYING(n) are STRING (weir does not bound lengths); TINYINT,
// SMALLINT, INT and INTEGER are INT; FLOAT, REAL, DOUBLE and DOUBLE
// PRECISION are DOUBLE; DECIMAL, DEC and NUMERIC default to DECIMAL(10, 0)
// and hold at most 18 digits; TIMESTAMP and TIMESTAMP_LTZ default to a
// precision of 6, as in Flink; TIMESTAMP(p) WITH LOCAL TIME ZONE is
// TIMESTAMP_LTZ(p); ROW<…> and ROW(…) are ROW. Other types (DATE, TIME,
// BYTES, ARRAY, MAP, …) are refused by name.
//
// Errors are *[Error] values: line and column, what was expected and what
// was found, and Error() shows the line with a caret under the place:
//
//	parser: line 1, column 33: expected ')' or ',' after a column, found 'WITH'
//	  CREATE TABLE t (a INT, b STRING WITH ('connector' = 'print')
//	                                  ^
//
// Invariants, checked by FuzzParse:
//
//  1. No input makes the parser panic, and every input ends: nesting
//     deeper than 200 levels is an error, not a stack overflow.
//  2. For every statement s it accepts, s.String() parses to a tree equal
//     to s, positions aside, which prints as s.String() again.
//
// Example:
//
//	stmts, err := parser.ParseScript(src)
//	if err != nil {
//		return err // prints with the source line and a caret
//	}
//	for _, s := range stmts {
//		switch s := s.(type) {
//		case *ast.CreateTable:
//			// s.Columns, s.Watermark, s.Options …
//		case *ast.Insert:
//			// s.Table, s.Query …
//		}
//	}
package parser
