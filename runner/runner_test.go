package runner

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/wizard"
)

// testServer is a runner's socket in a temp dir with recorded decisions.
type testServer struct {
	*Server
	mu        sync.Mutex
	decided   []wizard.Decision
	refused   []string
	interrupt int
}

func newTestServer(t *testing.T) (*testServer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), SocketFile)
	ts := &testServer{}
	srv, err := Listen(ServerOptions{
		Path:    path,
		Welcome: Welcome{PID: 42, Runbook: "greenarrow"},
		Decide: func(d wizard.Decision) {
			ts.mu.Lock()
			ts.decided = append(ts.decided, d)
			ts.mu.Unlock()
		},
		Interrupt: func() { ts.mu.Lock(); ts.interrupt++; ts.mu.Unlock() },
		Refused: func(who string, d wizard.Decision) {
			ts.mu.Lock()
			ts.refused = append(ts.refused, who+" "+string(d.Action))
			ts.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.Server = srv
	t.Cleanup(func() { srv.Finish(End{Code: 0}, time.Second) })
	return ts, path
}

// collect streams a client's messages into a slice until it ends.
type collected struct {
	mu   sync.Mutex
	msgs []Message
	end  chan *End
}

func collect(c *Client) *collected {
	col := &collected{end: make(chan *End, 1)}
	go func() {
		end, _ := c.Stream(func(m Message) {
			col.mu.Lock()
			col.msgs = append(col.msgs, m)
			col.mu.Unlock()
		})
		col.end <- end
	}()
	return col
}

func (c *collected) wait(t *testing.T, what string, ok func(Message) bool) Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, m := range c.msgs {
			if ok(m) {
				c.mu.Unlock()
				return m
			}
		}
		c.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no message: %s", what)
	return Message{}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSocketIsTheOwnersOnly: the socket is mode 0600, a second runner on
// it is refused while the first answers, and a stale one is replaced.
func TestSocketIsTheOwnersOnly(t *testing.T) {
	ts, path := newTestServer(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want a 0600 socket", fi.Mode())
	}
	if _, err := Listen(ServerOptions{Path: path}); err != ErrRunning {
		t.Fatalf("second runner: %v, want ErrRunning", err)
	}
	ts.Finish(End{}, time.Second)
	// A socket file left by a runner that died: a new one listens anyway.
	stale := filepath.Join(t.TempDir(), SocketFile)
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	srv, err := Listen(ServerOptions{Path: stale})
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	srv.Finish(End{}, time.Second)
}

// TestAttachGetsWhatHappenedThenLive: a client that attaches late gets the
// journaled events, the last output lines and the last counters, then
// what happens live, then the end.
func TestAttachGetsWhatHappenedThenLive(t *testing.T) {
	ts, path := newTestServer(t)
	ts.Publish(wizard.Event{Type: wizard.EvStepStarted, Step: "merge"})
	for i := range outputKept + 10 {
		ts.Publish(wizard.Event{Type: wizard.EvOutput, Step: "merge", Message: "line " + strconv.Itoa(i)})
	}
	ts.Publish(wizard.Event{Type: wizard.EvProgress, Step: "merge", Progress: nil, Message: "first"})
	ts.Publish(wizard.Event{Type: wizard.EvProgress, Step: "merge", Message: "latest"})
	ts.Publish(wizard.Event{Type: wizard.EvWaiting, Step: "merge", Need: wizard.NeedFailure})
	c, err := Dial(path, Hello{Role: RoleObserve, Who: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Welcome.Role != RoleObserve || c.Welcome.PID != 42 {
		t.Fatalf("welcome %+v", c.Welcome)
	}
	col := collect(c)
	col.wait(t, "the waiting event", func(m Message) bool { return m.Event != nil && m.Event.Type == wizard.EvWaiting })
	col.wait(t, "the latest counters", func(m Message) bool { return m.Event != nil && m.Event.Message == "latest" })
	ts.Publish(wizard.Event{Type: wizard.EvSkipped, Step: "merge", Message: "live"})
	col.wait(t, "a live event", func(m Message) bool { return m.Event != nil && m.Event.Message == "live" })
	col.mu.Lock()
	var outputs, first int
	for _, m := range col.msgs {
		if m.Event != nil && m.Event.Type == wizard.EvOutput {
			outputs++
		}
		if m.Event != nil && m.Event.Message == "first" {
			first++
		}
	}
	col.mu.Unlock()
	if outputs != outputKept || first != 0 {
		t.Errorf("got %d output lines (want the last %d) and %d stale counters (want 0)", outputs, outputKept, first)
	}
	ts.Finish(End{Code: 3, Error: "needs a person"}, time.Second)
	select {
	case end := <-col.end:
		if end == nil || end.Code != 3 {
			t.Fatalf("end %+v", end)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no end")
	}
}

// TestObserverCannotDecide: the runner refuses an observer's decision and
// interrupt (told back, reported to Refused) and passes the controlling
// client's, with who sent it; a second controller takes control over and
// the first is told and refused from then on.
func TestObserverCannotDecide(t *testing.T) {
	ts, path := newTestServer(t)
	obs, err := Dial(path, Hello{Role: RoleObserve, Who: "watcher"})
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()
	oc := collect(obs)
	first, err := Dial(path, Hello{Role: RoleControl, Who: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	fc := collect(first)
	_ = obs.Decide(wizard.Decision{Step: "stop-old", Action: wizard.ActConfirm, Text: "mail-old"})
	_ = obs.Interrupt()
	oc.wait(t, "the refusal notice", func(m Message) bool { return strings.Contains(m.Notice, "refused your confirm") })
	oc.wait(t, "the interrupt refusal", func(m Message) bool { return strings.Contains(m.Notice, "refused to interrupt") })
	_ = first.Decide(wizard.Decision{Step: "stop-old", Action: wizard.ActConfirm, Text: "mail-old"})
	waitFor(t, "alice's decision", func() bool { ts.mu.Lock(); defer ts.mu.Unlock(); return len(ts.decided) == 1 })
	ts.mu.Lock()
	if ts.decided[0].Actor != "alice" || len(ts.refused) != 1 || ts.refused[0] != "watcher confirm" || ts.interrupt != 0 {
		t.Errorf("decided %+v, refused %v, interrupts %d", ts.decided, ts.refused, ts.interrupt)
	}
	ts.mu.Unlock()
	second, err := Dial(path, Hello{Role: RoleControl, Who: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	fc.wait(t, "the takeover notice", func(m Message) bool {
		return strings.Contains(m.Notice, "control was taken by bob") && m.Demoted
	})
	_ = first.Decide(wizard.Decision{Step: "x", Action: wizard.ActDone})
	// Alice never asked to watch: the refusal says another screen has
	// control and how to take it back, not "without --read-only".
	fc.wait(t, "alice's refusal notice", func(m Message) bool {
		return strings.Contains(m.Notice, "another screen has control") && strings.Contains(m.Notice, "ferry attach (without --read-only) takes control back")
	})
	_ = second.Interrupt()
	waitFor(t, "bob's interrupt", func() bool { ts.mu.Lock(); defer ts.mu.Unlock(); return ts.interrupt == 1 })
	waitFor(t, "alice's refusal", func() bool { ts.mu.Lock(); defer ts.mu.Unlock(); return len(ts.refused) == 2 })
	if n, control := ts.Clients(); n != 3 || !control {
		t.Errorf("clients %d, control %v", n, control)
	}
}

// TestClientGoneChangesNothing: a client that goes away mid-run leaves the
// server publishing; a new one attaches and gets everything.
func TestClientGoneChangesNothing(t *testing.T) {
	ts, path := newTestServer(t)
	c, err := Dial(path, Hello{Role: RoleControl, Who: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	for i := range 100 {
		ts.Publish(wizard.Event{Type: wizard.EvCommand, Step: "s", Command: "cmd " + strconv.Itoa(i)})
	}
	waitFor(t, "the client gone", func() bool { n, _ := ts.Clients(); return n == 0 })
	c2, err := Dial(path, Hello{Role: RoleControl, Who: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	col := collect(c2)
	col.wait(t, "the last command", func(m Message) bool { return m.Event != nil && m.Event.Command == "cmd 99" })
}

// TestLateClientGetsEventsInOrder: a client attaching late gets the
// journaled events and the kept output lines in the order they were
// published, not the journal first and every line after it.
func TestLateClientGetsEventsInOrder(t *testing.T) {
	ts, path := newTestServer(t)
	want := []string{"start a", "out a1", "done a", "start b", "out b1", "out b2", "waits b"}
	ts.Publish(wizard.Event{Type: wizard.EvStepStarted, Step: "a", Message: "start a"})
	ts.Publish(wizard.Event{Type: wizard.EvOutput, Step: "a", Message: "out a1"})
	ts.Publish(wizard.Event{Type: wizard.EvStepFinished, Step: "a", Message: "done a"})
	ts.Publish(wizard.Event{Type: wizard.EvStepStarted, Step: "b", Message: "start b"})
	ts.Publish(wizard.Event{Type: wizard.EvOutput, Step: "b", Message: "out b1"})
	ts.Publish(wizard.Event{Type: wizard.EvOutput, Step: "b", Message: "out b2"})
	ts.Publish(wizard.Event{Type: wizard.EvWaiting, Step: "b", Message: "waits b", Need: wizard.NeedFailure})
	c, err := Dial(path, Hello{Role: RoleObserve, Who: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	col := collect(c)
	col.wait(t, "the waiting event", func(m Message) bool { return m.Event != nil && m.Event.Type == wizard.EvWaiting })
	col.mu.Lock()
	var got []string
	for _, m := range col.msgs {
		if m.Event != nil {
			got = append(got, m.Event.Message)
		}
	}
	col.mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("a late client got %q, want %q", got, want)
	}
}
