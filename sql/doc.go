// Package sql runs weir's SQL, the Flink SQL dialect (Flink 1.13): SQL text
// in, a running weir job out. It is what the `weir sql` client is built on.
//
// A [Session] holds a catalog of tables, views and functions and the
// settings of SET. [Session.Execute] runs one statement:
//
//   - CREATE TABLE / VIEW / FUNCTION, DROP, SHOW, DESCRIBE change or read
//     the catalog ([ResultOK], [ResultTable]);
//   - SET 'key' = 'value' and RESET change the settings of later jobs;
//   - EXPLAIN shows the logical plan and the weir job graph ([ResultExplain]);
//   - INSERT INTO … SELECT and BEGIN STATEMENT SET … END start a job that
//     writes to the tables' sinks ([ResultJob]);
//   - SELECT starts a job whose rows come back on [Job.Rows] ([ResultQuery]).
//
// Jobs run asynchronously: Execute returns once the job is started, and
// [Job.Wait] waits for its end. Statements are planned by sql/planner;
// what it does not support is refused with an error that names the
// construct and points at it.
//
// # Settings
//
// SET 'key' = 'value' applies to the jobs started after it; an unknown
// key or a bad value is refused, naming the known keys. RESET 'key'
// forgets one, RESET all of them, and a bare SET lists them:
//
//	parallelism.default                every operator's parallelism (default 1)
//	execution.checkpointing.interval   checkpoint this often ('10 s'); needs state.checkpoints.dir
//	state.checkpoints.dir              where checkpoints go; a job started again with the same
//	                                   SQL and directory resumes from the latest one
//	state.backend                      'hashmap' ('heap', the default) or 'pebble' ('rocksdb'),
//	                                   which needs state.backend.dir
//	table.local-time-zone              the session time zone (default 'UTC')
//	pipeline.name                      the jobs' name
//	execution.savepoint.path           restore the next job from this checkpoint or savepoint
//	sql.dead-letters                   append what sources cannot decode, as JSON lines with
//	                                   the reason, to this file
//
// Dead letters (a log line that is not a page view, a JSON record that
// does not decode) never stop a job: weir counts them in the source's
// metrics whether or not sql.dead-letters is set.
//
// Operator ids derive from the plan (the sink table, the node's place and
// a hash of its definition), so the same SQL restores its state from a
// checkpoint; a changed query node starts with empty state, and the
// restore fails unless that is allowed (weir.AllowNonRestoredState in
// Options.EnvOptions).
//
// Example: PV and UV per minute over access logs.
//
//	s, err := sql.NewSession(sql.Options{})
//	err = s.ExecuteScript(ctx, `
//	  CREATE TABLE access_log (
//	    remote_addr STRING, time_local TIMESTAMP_LTZ(3), uri STRING,
//	    WATERMARK FOR time_local AS time_local - INTERVAL '5' SECOND
//	  ) WITH ('connector' = 'filesystem', 'path' = 'access.log', 'format' = 'combined-log');
//	  CREATE TABLE pvuv (window_start TIMESTAMP(3), window_end TIMESTAMP(3), pv BIGINT, uv BIGINT)
//	    WITH ('connector' = 'print');
//	  INSERT INTO pvuv SELECT window_start, window_end, COUNT(*), COUNT(DISTINCT remote_addr)
//	    FROM TABLE(TUMBLE(TABLE access_log, DESCRIPTOR(time_local), INTERVAL '1' MINUTE))
//	    GROUP BY window_start, window_end;
//	`, func(r *sql.Result) error {
//		if r.Job != nil {
//			return r.Job.Wait()
//		}
//		return nil
//	})
package sql
