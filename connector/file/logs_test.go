package file_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/weirtest"
)

// syncBuffer is a bytes.Buffer that subtasks may write to at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestReaderLogsNameJobOperatorSubtask: without a logger of its own, the
// file source logs through the job's logger for its subtask, so its
// warning about a line too long names the job, the operator and the
// subtask.
func TestReaderLogsNameJobOperatorSubtask(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.log")
	if err := os.WriteFile(path, []byte("short\n"+strings.Repeat("x", 200)+"\nafter\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := file.NewSource(path, file.MaxLineSize(100))
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	env := weir.NewEnv(weir.Parallelism(1), weir.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	weir.SinkTo(weir.FromSource(env, src, weir.Name("lines")), weirtest.NewCollector[string](), weir.Name("sink"))
	if err := env.Execute(context.Background(), "too-long"); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		msg, _ := rec["msg"].(string)
		if !strings.Contains(msg, "longer than MaxLineSize") {
			continue
		}
		found = true
		if rec["job"] != "too-long" || !strings.Contains(rec["operator"].(string), "lines") || rec["subtask"] != float64(0) {
			t.Errorf("the warning %s does not name job too-long, operator lines, subtask 0", line)
		}
	}
	if !found {
		t.Fatalf("no warning about the long line in the job's log:\n%s", logs.String())
	}
}
