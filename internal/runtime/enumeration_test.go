package runtime

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/weirstream/weir/source"
)

// fakeEnumerator answers every split request with a new split and
// snapshots the splits it has not assigned.
type fakeEnumerator struct {
	tr         *transcript
	ctx        source.EnumeratorContext
	next       int
	unassigned []source.Split
}

func (e *fakeEnumerator) Start(context.Context) error {
	e.tr.add("enumerator start")
	return nil
}

func (e *fakeEnumerator) HandleSplitRequest(subtask int) {
	e.next++
	e.tr.add("request from %d", subtask)
	e.ctx.Assign(subtask, testSplit{id: fmt.Sprint("s", e.next)})
}

func (e *fakeEnumerator) AddSplitsBack(splits []source.Split, _ int) {
	e.unassigned = append(e.unassigned, splits...)
}

func (e *fakeEnumerator) Snapshot() ([]source.Split, error) { return e.unassigned, nil }

func (e *fakeEnumerator) NotifyCheckpointComplete(_ context.Context, id int64) error {
	e.tr.add("enumerator complete %d", id)
	return nil
}

func (e *fakeEnumerator) Close() error {
	e.tr.add("enumerator close")
	return nil
}

// mail describes what a mailbox holds.
func mail(m *SplitMailbox) []string {
	var out []string
	for _, it := range m.take() {
		switch {
		case it.checkpoint != 0:
			out = append(out, fmt.Sprint("checkpoint ", it.checkpoint))
		case it.noMore:
			out = append(out, "no more splits")
		default:
			for _, s := range it.splits {
				out = append(out, "split "+s.SplitID())
			}
		}
	}
	return out
}

// TestEnumeration: readers' split requests reach the enumerator, whose
// assignments land in the requester's mailbox; a trigger snapshots the
// enumerator and then puts a marker behind every assignment made so far,
// in every mailbox; completions reach an enumerator that listens.
func TestEnumeration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		tr := &transcript{}
		en := NewEnumeration(2)
		fe := &fakeEnumerator{tr: tr, ctx: en, unassigned: []source.Split{testSplit{id: "back"}}}
		en.SetEnumerator(fe)
		commands := make(chan Command, 1)
		en.Commands = commands
		en.OnSnapshot = func(id int64, unassigned []source.Split, err error) {
			tr.add("snapshot %d: %d unassigned, err %v", id, len(unassigned), err)
		}
		done := runAsync(ctx, en.Run)
		en.ReaderContext(ctx, 1, nil).RequestSplit()
		synctest.Wait()
		en.Trigger(ctx, 7)
		synctest.Wait()
		en.ReaderContext(ctx, 0, nil).RequestSplit()
		commands <- Command{Kind: Complete, ID: 7}
		synctest.Wait()
		tr.expect(t, "enumerator start", "request from 1", "snapshot 7: 1 unassigned, err <nil>",
			"request from 0", "enumerator complete 7")
		if got, want := fmt.Sprint(mail(en.Mailbox(0))), "[checkpoint 7 split s2]"; got != want {
			t.Errorf("mailbox 0 holds %s, want %s", got, want)
		}
		if got, want := fmt.Sprint(mail(en.Mailbox(1))), "[split s1 checkpoint 7]"; got != want {
			t.Errorf("mailbox 1 holds %s, want %s", got, want)
		}
		cancel()
		synctest.Wait()
		if err := returned(t, done); err != nil {
			t.Fatalf("Run = %v after cancel, want nil", err)
		}
		tr.expect(t, "enumerator close")
	})
}

// plainEnumerator cannot be checkpointed.
type plainEnumerator struct{ fakeEnumerator }

func (plainEnumerator) Snapshot() {}

// TestEnumerationNotSnapshotting: a trigger at an enumerator that cannot
// snapshot reports the error to OnSnapshot and still marks the mailboxes.
func TestEnumerationNotSnapshotting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		en := NewEnumeration(1)
		en.SetEnumerator(&plainEnumerator{fakeEnumerator{tr: &transcript{}, ctx: en}})
		var snapErr error
		en.OnSnapshot = func(_ int64, _ []source.Split, err error) { snapErr = err }
		done := runAsync(ctx, en.Run)
		en.Trigger(ctx, 3)
		synctest.Wait()
		if snapErr == nil {
			t.Fatal("an enumerator without Snapshot was checkpointed")
		}
		if got := fmt.Sprint(mail(en.Mailbox(0))); got != "[checkpoint 3]" {
			t.Fatalf("mailbox holds %s, want the marker", got)
		}
		cancel()
		synctest.Wait()
		if err := returned(t, done); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	})
}
