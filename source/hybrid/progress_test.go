package hybrid_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/hybrid"
	"github.com/weirstream/weir/weirtest"
)

// TestSplitProgressOfTheCurrentSource: a hybrid reader reports the split
// progress of the source it reads now; after the job, that is the last
// source's, every split at lag 0.
func TestSplitProgressOfTheCurrentSource(t *testing.T) {
	dir := t.TempDir()
	backlog(t, dir)
	hs, err := hybrid.New[string](files(t, filepath.Join(dir, "a", "*.log")),
		hybrid.Then[string](files(t, filepath.Join(dir, "c", "*.log"))))
	if err != nil {
		t.Fatal(err)
	}
	env := weir.NewEnv(weir.Parallelism(1))
	weir.SinkTo(weir.FromSource(env, hs), weirtest.NewCollector[string]())
	if err := env.Execute(context.Background(), "hybrid-progress"); err != nil {
		t.Fatal(err)
	}
	var got []source.SplitProgress
	for _, m := range env.Metrics() {
		got = append(got, m.Splits...)
	}
	if len(got) == 0 {
		t.Fatal("no split progress: the hybrid reader does not report its current reader's")
	}
	for _, sp := range got {
		if !strings.Contains(sp.Split, filepath.Join(dir, "c")) || sp.Lag != 0 || sp.Position <= 0 || sp.Unit != source.ProgressBytes {
			t.Errorf("split progress %+v, want a finished range of c/1.log", sp)
		}
	}
}
