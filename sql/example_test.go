package sql_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/weirstream/weir/sql"
)

// A session runs DDL, then a windowed query whose rows come back on the
// job's channel. Of the 1000 generated lines, one is not a page view (the
// combined-log format sends it to the dead letters).
func ExampleSession() {
	ctx := context.Background()
	s, err := sql.NewSession(sql.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}
	err = s.ExecuteScript(ctx, `
		CREATE TABLE access_log (
		  remote_addr STRING, time_local TIMESTAMP_LTZ(3), uri STRING,
		  WATERMARK FOR time_local AS time_local - INTERVAL '5' SECOND
		) WITH ('connector' = 'datagen', 'number-of-rows' = '1000', 'seed' = '1');
	`, func(r *sql.Result) error {
		fmt.Println(r.Message)
		return nil
	})
	if err != nil {
		panic(err)
	}
	r, err := s.Execute(ctx, `SELECT window_start, COUNT(*) AS pv, COUNT(DISTINCT remote_addr) AS uv
		FROM TABLE(TUMBLE(TABLE access_log, DESCRIPTOR(time_local), INTERVAL '1' SECOND))
		GROUP BY window_start, window_end`)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Schema)
	windows, views := 0, int64(0)
	for row := range r.Job.Rows() {
		windows++
		views += row.Values[1].Int()
	}
	if err := r.Job.Wait(); err != nil {
		panic(err)
	}
	fmt.Println(windows > 0, views)
	// Output:
	// Table 'access_log' created.
	// (window_start TIMESTAMP(3) NOT NULL, pv BIGINT NOT NULL, uv BIGINT NOT NULL)
	// true 999
}
