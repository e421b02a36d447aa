package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSavepointAndStopCommands runs an endless job with its API, takes a
// savepoint with 'weir savepoint' and stops it with 'weir stop'.
func TestSavepointAndStopCommands(t *testing.T) {
	t.Parallel()
	addr := freePort(t)
	cmd := weirCommand(t, "pvuv", "--source", "datagen://?rate=5000", "--sink", "file://"+filepath.Join(t.TempDir(), "out.jsonl"),
		"--checkpoint-dir", t.TempDir(), "--checkpoint-interval", "100ms", "--http", addr, "--progress", "off")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-done
	}()
	job := "http://" + addr
	var sp result
	for i := 0; i < 100; i++ {
		if sp = runWeir(t, "savepoint", "--job", job); sp.code == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if sp.code != 0 {
		t.Fatalf("weir savepoint: exit %d: %s\njob: %s", sp.code, sp.stderr, stderr.String())
	}
	path := strings.TrimSpace(sp.stdout)
	if _, err := os.Stat(filepath.Join(path, "_metadata")); err != nil {
		t.Fatalf("savepoint %q: %v", path, err)
	}
	st := runWeir(t, "stop", "--job", job)
	if st.code != 0 {
		t.Fatalf("weir stop: exit %d: %s", st.code, st.stderr)
	}
	select {
	case err := <-done:
		done <- err // for the deferred Wait
		if err != nil {
			t.Fatalf("the job ended with %v after weir stop:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the job did not end after weir stop:\n%s", stderr.String())
	}
	if r := runWeir(t, "stop", "--job", job); r.code == 0 {
		t.Fatal("weir stop of a stopped job succeeded")
	}
}
