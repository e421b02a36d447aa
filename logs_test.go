package weir_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/source/hybrid"
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

// loggingSink logs one line from each writer through sink.LoggerOf.
type loggingSink struct{}

func (loggingSink) NewWriter(ctx sink.WriterContext) (sink.Writer[int], error) {
	sink.LoggerOf(ctx, nil).Info("writer started")
	return sink.Func[int](func(context.Context, int) error { return nil }).NewWriter(ctx)
}

// TestConnectorLogsNameJobOperatorSubtask: what a sink's writer and a
// source's enumerator log through the loggers the runtime gives them
// (sink.LoggerOf, source.LoggerOf) names the job, the operator and the
// subtask — "enumerator" for the enumerator — in the Env's format.
func TestConnectorLogsNameJobOperatorSubtask(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	env := weir.NewEnv(weir.WithLogger(log), weir.Parallelism(2))
	hs, err := hybrid.New[int](weirtest.FromSlice(1, 2, 3), hybrid.Then[int](weirtest.FromSlice(4, 5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	weir.SinkTo(weir.Rebalance(weir.FromSource(env, hs, weir.Name("both"), weir.Parallelism(1))), loggingSink{}, weir.Name("out"))
	if err := env.Execute(t.Context(), "connectors"); err != nil {
		t.Fatal(err)
	}
	writers, switched := map[float64]bool{}, 0
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("a log line that is not JSON: %q: %v", line, err)
		}
		switch rec["msg"] {
		case "writer started":
			sub, _ := rec["subtask"].(float64)
			writers[sub] = true
			// The operator is the writer's chain, as its task's lines name it.
			if op, _ := rec["operator"].(string); rec["job"] != "connectors" || !strings.HasSuffix(op, "out") {
				t.Errorf("%s: want job connectors, operator out (or its chain)", line)
			}
		case "hybrid: switched to the next source":
			switched++
			if rec["job"] != "connectors" || rec["operator"] != "both" || rec["subtask"] != "enumerator" {
				t.Errorf("%s: want job connectors, operator both, subtask enumerator", line)
			}
		}
	}
	if len(writers) != 2 || !writers[0] || !writers[1] || switched != 1 {
		t.Errorf("writers logged %v, the enumerator switched %d times; want subtasks 0 and 1, once:\n%s", writers, switched, buf.String())
	}
}
