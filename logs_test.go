package weir_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/weirtest"
)

// TestLogsNameJobOperatorSubtask: the lines a failing task and the job
// driver log carry the job, the operator (the task: its chain, as its
// metrics name it; the driver: the operator that failed) and the subtask,
// in the Env's logger's format.
func TestLogsNameJobOperatorSubtask(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	env := weir.NewEnv(weir.WithLogger(log), weir.Parallelism(2),
		weir.Checkpoints(time.Hour, t.TempDir()), weir.Restart(weir.FixedDelayRestart(1, time.Millisecond)))
	src := weir.FromSource(env, weirtest.FromSlice(ints(100)...), weir.Name("source"))
	bad := weir.Process(weir.Rebalance(src), func(ctx *weir.Context, v int, out weir.Emitter[int]) error {
		if ctx.Subtask() == 1 {
			return errors.New("boom")
		}
		out.Emit(v)
		return nil
	}, weir.Name("fails"))
	weir.SinkTo(bad, weirtest.NewCollector[int](), weir.Name("sink"))
	if err := env.Execute(t.Context(), "logs"); err == nil {
		t.Fatal("Execute = nil, want the operator's error")
	}
	want := map[string]int{"task failed": 2, "job failed; restarting": 1}
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("a log line that is not JSON: %q: %v", line, err)
		}
		msg, _ := rec["msg"].(string)
		if _, ok := want[msg]; !ok {
			continue
		}
		want[msg]--
		// The task names its chain; the driver the operator its error names.
		if op := rec["operator"]; rec["job"] != "logs" || op != "rebalance-1 -> fails -> sink" && op != "fails" || rec["subtask"] != 1.0 {
			t.Errorf("%s: job %v, operator %v, subtask %v; want logs, fails (or its chain), 1", line, rec["job"], op, rec["subtask"])
		}
	}
	for msg, n := range want {
		if n != 0 {
			t.Errorf("%d lines %q too few (or too many, if negative):\n%s", n, msg, buf.String())
		}
	}
}
