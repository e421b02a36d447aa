package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/internal/redistest"
)

// TestKafkaShipPVUV runs the three commands of the README's Kafka
// walk-through as separate processes: weir kafka, weir ship following a
// log that rotates, and weir pvuv from the topic to another topic with
// checkpoints. The windows that closed must arrive in the output topic
// exactly as the baseline computes them from the same lines.
func TestKafkaShipPVUV(t *testing.T) {
	t.Parallel()
	takeTurn(t, timingTurn)
	if testing.Short() {
		t.Skip("starts three processes: skipped with -short")
	}
	addr := freeAddr(t)
	kafkaCmd, kafkaOut, _ := startWeir(t, "kafka", "--listen", addr, "--topics", "access,pvuv", "--partitions", "3")
	kafkaLog := collectLog(kafkaOut)
	waitListening(t, addr)

	dir := t.TempDir()
	live := filepath.Join(dir, "access.log")
	g, err := datagen.New()
	if err != nil {
		t.Fatal(err)
	}
	const n = 240_000 // four minutes of event time
	var all []string
	writeLines := func(path string, count int) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(f)
		var line []byte
		for range count {
			line, _ = g.Next(line[:0])
			all = append(all, string(line))
			w.Write(line)
			w.WriteByte('\n')
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	writeLines(live, n/2)

	shipCmd, shipOut, _ := startWeir(t, "ship", "--logs", filepath.Join(dir, "access*.log"), "--to", "kafka://"+addr+"/access")
	shipLog := collectLog(shipOut)
	ckpt := t.TempDir()
	apiAddr := freeAddr(t)
	pvuvCmd, pvuvOut, _ := startWeir(t, "pvuv", "--source", "kafka://"+addr+"/access?group=pvuv", "--sink", "kafka://"+addr+"/pvuv",
		"--checkpoint-dir", ckpt, "--checkpoint-interval", "200ms", "--parallelism", "2", "--progress", "2s", "--http", apiAddr)
	pvuvLog := collectLog(pvuvOut)

	// The first half is shipped; then the log rotates, as logrotate does,
	// and the second half goes to a new file.
	waitRecords(t, addr, "access", n/2)
	if err := os.Rename(live, live+".1"); err != nil {
		t.Fatal(err)
	}
	writeLines(live, n/2)
	waitRecords(t, addr, "access", n)

	in := input{dir: dir, files: []string{filepath.Join(dir, "all.log")}}
	if err := os.WriteFile(in.files[0], []byte(strings.Join(all, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, want := in.baselineLines(t, time.Minute, 10)
	if len(want) < 4 {
		t.Fatalf("the input spans %d windows; the test needs at least 4", len(want))
	}
	// The last window stays open: no later line moves event time past it.
	got := consumeCommitted(t, addr, "pvuv", len(want)-1)
	// Windows are keyed by their start, so they spread over the topic's
	// partitions; order them again.
	slices.Sort(got)
	if len(got) < len(want)-1 || len(got) > len(want) {
		var ckpts string
		if resp, err := http.Get("http://" + apiAddr + "/api/checkpoints"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ckpts = string(b)
		}
		// SIGQUIT makes the job print its goroutines: where it is stuck.
		pvuvCmd.Process.Signal(syscall.SIGQUIT)
		time.Sleep(2 * time.Second) // for the dump to reach the log
		t.Fatalf("%d windows in the topic, want %d or %d; checkpoints: %s\nweir pvuv logged:\n%s", len(got), len(want)-1, len(want), ckpts, pvuvLog.String())
	}
	for i := range got {
		if asJSON(t, got[i]) != asJSON(t, want[i]) {
			t.Fatalf("window %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	// weir consume shows the same committed windows.
	res := runWeir(t, "consume", "--topic", "kafka://"+addr+"/pvuv", "--idle", "2s")
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	slices.Sort(lines)
	if res.code != 0 || len(lines) < len(got) || len(lines) > len(want) || !slices.Equal(lines[:len(got)], got) {
		t.Fatalf("weir consume: exit %d, %d lines, want %d\n%s", res.code, len(lines), len(got), res.stderr)
	}
	type proc struct {
		name string
		cmd  *exec.Cmd
		log  *syncBuffer
	}
	procs := []proc{{"pvuv", pvuvCmd, pvuvLog}, {"ship", shipCmd, shipLog}, {"kafka", kafkaCmd, kafkaLog}}
	// The broker stops last: the job and the shipper end with a last
	// commit, which needs it.
	stop := func(procs ...proc) {
		for _, p := range procs {
			p.cmd.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			if err := p.cmd.Wait(); err != nil {
				t.Errorf("weir %s did not stop cleanly on SIGTERM: %v; it logged:\n%s", p.name, err, p.log.String())
			}
		}
	}
	stop(procs[0], procs[1])
	stop(procs[2])
}

// collectLog keeps the lines of a command's log as they come.
func collectLog(lines <-chan string) *syncBuffer {
	var b syncBuffer
	go func() {
		for l := range lines {
			b.Write([]byte(l + "\n"))
		}
	}()
	return &b
}

// freeAddr returns a loopback address with a port free now (freePort).
func freeAddr(t *testing.T) string { return freePort(t) }

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

// waitRecords waits until a read_committed consumer has read n records of
// topic.
func waitRecords(t *testing.T, addr, topic string, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	deadline := time.Now().Add(90 * time.Second)
	got := 0
	for got < n && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		got += cl.PollFetches(ctx).NumRecords()
		cancel()
	}
	if got < n {
		t.Fatalf("%s holds %d committed records after 90s, want %d", topic, got, n)
	}
}

// TestDashboardCommand serves the dashboard over a real redis-server and
// reads its API.
func TestDashboardCommand(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	addr := freeAddr(t)
	cmd, _, _ := startWeir(t, "dashboard", "--redis", srv.URL(), "--http", addr)
	waitListening(t, addr)
	resp, err := http.Get("http://" + addr + "/api/pvuv")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"windows"`) {
		t.Fatalf("GET /api/pvuv: %s %s", resp.Status, body)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("weir dashboard did not stop cleanly: %v", err)
	}
}
