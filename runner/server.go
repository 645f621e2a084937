package runner

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-migrate/ferry/wizard"
)

// ErrRunning is returned by Listen when a live runner answers on the
// socket already.
var ErrRunning = errors.New("a ferry runner already serves this state directory")

// outputKept is how many output lines per step a client gets on attaching
// (the run screen keeps as many).
const outputKept = 500

// clientQueue is how many messages may wait for one client; a client that
// falls further behind on journaled events is dropped (it may attach
// again), so that no client ever holds the migration up.
const clientQueue = 8192

// ServerOptions say what a runner serves.
type ServerOptions struct {
	// Path is the socket's path (the state directory's SocketFile).
	Path string
	// Welcome is sent to every client after its hello (Role is set per
	// client).
	Welcome Welcome
	// Decide passes a controlling client's decision to the engine; it must
	// not block (wizard.Engine.Decide does not). Nil for an unattended
	// runner: every decision is refused (and told to Refused).
	Decide func(wizard.Decision)
	// Interrupt stops the running step at a controlling client's request
	// (the engine's context is cancelled).
	Interrupt func()
	// Refused is told of every decision the runner refused (from a
	// read-only client), with who sent it; the caller journals it.
	Refused func(who string, d wizard.Decision)
}

// Server is the runner's side of the socket.
type Server struct {
	o  ServerOptions
	ln net.Listener

	mu        sync.Mutex
	clients   map[*client]struct{}
	control   *client
	journaled []seqEvent
	outputs   map[string][]seqEvent
	progress  map[string]wizard.Event
	// seq numbers the published events, so that a client attaching late
	// gets the journaled events and the kept output in the order they
	// happened.
	seq uint64
	end *End
	wg  sync.WaitGroup
}

type client struct {
	conn net.Conn
	role string
	who  string
	// demoted: it had control and another client took it.
	demoted bool
	out     chan []byte
	gone    chan struct{}
	once    sync.Once
	// fin asks the writer to send what is queued and stop; done closes
	// when the writer has stopped.
	fin  chan struct{}
	done chan struct{}
}

func (c *client) close() {
	c.once.Do(func() {
		close(c.gone)
		_ = c.conn.Close()
	})
}

// Listen makes the socket at o.Path, readable and writable by its owner
// only (the umask is tightened before bind, as tmux does, so the socket is
// never open to others even briefly). A socket that a live runner answers
// on is ErrRunning; a stale one (its runner died) is removed first.
func Listen(o ServerOptions) (*Server, error) {
	if c, err := net.DialTimeout("unix", o.Path, time.Second); err == nil {
		_ = c.Close()
		return nil, ErrRunning
	}
	if err := os.Remove(o.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("runner: remove stale socket %s: %w", o.Path, err)
	}
	old := syscall.Umask(0o077)
	ln, err := net.Listen("unix", o.Path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("runner: listen on %s: %w", o.Path, err)
	}
	if err := os.Chmod(o.Path, 0o600); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("runner: %w", err)
	}
	s := &Server{o: o, ln: ln, clients: map[*client]struct{}{}, outputs: map[string][]seqEvent{}, progress: map[string]wizard.Event{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go s.serve(conn)
	}
}

// serve reads the client's hello, sends it what happened so far and then
// everything live, and reads its decisions until it goes away.
func (s *Server) serve(conn net.Conn) {
	defer s.wg.Done()
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var first Message
	if !sc.Scan() || json.Unmarshal(sc.Bytes(), &first) != nil || first.Hello == nil {
		_ = conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	c := &client{conn: conn, role: first.Hello.Role, who: first.Hello.Who, out: make(chan []byte, clientQueue), gone: make(chan struct{}),
		fin: make(chan struct{}), done: make(chan struct{})}
	if c.role != RoleControl {
		c.role = RoleObserve
	}
	s.register(c)
	go s.write(c)
	for sc.Scan() {
		var m Message
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		s.mu.Lock()
		isControl := s.control == c
		s.mu.Unlock()
		switch {
		case m.Decide != nil && isControl && s.o.Decide != nil:
			d := *m.Decide
			if d.Actor == "" {
				d.Actor = c.who
			}
			s.o.Decide(d)
		case m.Decide != nil:
			if s.o.Refused != nil {
				s.o.Refused(c.who, *m.Decide)
			}
			notice := "read-only: the runner refused your " + string(m.Decide.Action) + "; attach without --read-only to decide"
			s.mu.Lock()
			demoted := c.demoted
			s.mu.Unlock()
			if demoted {
				notice = "read-only: another screen has control, so the runner refused your " + string(m.Decide.Action) + "; ferry attach (without --read-only) takes control back"
			}
			if s.o.Decide == nil {
				notice = "read-only: this run answers from its answers file; the runner refused your " + string(m.Decide.Action)
			}
			s.send(c, Message{Notice: notice}, true)
		case m.Interrupt && isControl:
			if s.o.Interrupt != nil {
				s.o.Interrupt()
			}
		case m.Interrupt:
			s.send(c, Message{Notice: "read-only: the runner refused to interrupt the step"}, true)
		}
	}
	s.unregister(c)
}

// register gives c the welcome, control if it asked and the snapshot, in
// one go under the lock, so that no live event slips between the snapshot
// and the live stream.
func (s *Server) register(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.role == RoleControl {
		if prev := s.control; prev != nil {
			prev.role, prev.demoted = RoleObserve, true
			s.sendLocked(prev, Message{Notice: "control was taken by " + c.who + ": you watch now (read-only); ferry attach takes it back", Demoted: true}, true)
		}
		s.control = c
	}
	w := s.o.Welcome
	w.Role = c.role
	s.sendLocked(c, Message{Welcome: &w}, true)
	for _, e := range s.backlog() {
		s.sendLocked(c, Message{Event: &e.ev}, true)
	}
	for _, ev := range s.progress {
		s.sendLocked(c, Message{Event: &ev}, true)
	}
	s.sendLocked(c, Message{Synced: true}, true)
	if s.end != nil {
		s.sendLocked(c, Message{End: s.end}, true)
	}
	s.clients[c] = struct{}{}
}

// seqEvent is a published event with its place in the publishing order.
type seqEvent struct {
	n  uint64
	ev wizard.Event
}

// backlog is what a client attaching now is sent before the live events:
// every journaled event and each step's kept output, in the order they
// were published (a follower printing lines shows them as they happened).
// The caller holds s.mu.
func (s *Server) backlog() []seqEvent {
	all := slices.Clone(s.journaled)
	for _, evs := range s.outputs {
		all = append(all, evs...)
	}
	slices.SortFunc(all, func(a, b seqEvent) int { return cmp.Compare(a.n, b.n) })
	return all
}

func (s *Server) unregister(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	if s.control == c {
		s.control = nil
	}
	s.mu.Unlock()
	c.close()
}

// write sends c its queued lines until it goes away, or, once asked to
// finish (c.fin), until its queue is empty.
func (s *Server) write(c *client) {
	defer close(c.done)
	put := func(b []byte) bool {
		_ = c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.conn.Write(b); err != nil {
			c.close()
			return false
		}
		return true
	}
	for {
		select {
		case b := <-c.out:
			if !put(b) {
				return
			}
		case <-c.fin:
			for {
				select {
				case b := <-c.out:
					if !put(b) {
						return
					}
				default:
					return
				}
			}
		case <-c.gone:
			return
		}
	}
}

func (s *Server) send(c *client, m Message, must bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendLocked(c, m, must)
}

// sendLocked queues m for c. A message that must arrive (a journaled
// event, the end) and finds the queue full drops the client instead of
// waiting for it; output and progress are simply skipped.
func (s *Server) sendLocked(c *client, m Message, must bool) {
	b, err := encode(m)
	if err != nil {
		return
	}
	select {
	case c.out <- b:
	default:
		if must {
			go c.close()
		}
	}
}

// Publish records ev for clients that attach later and sends it to every
// client now. It never blocks on a client.
func (s *Server) Publish(ev wizard.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case ev.Type == wizard.EvOutput:
		s.seq++
		o := append(s.outputs[ev.Step], seqEvent{s.seq, ev})
		if len(o) > outputKept {
			o = append(o[:0:0], o[len(o)-outputKept:]...)
		}
		s.outputs[ev.Step] = o
	case ev.Type == wizard.EvProgress:
		s.progress[ev.Step] = ev
	default:
		s.seq++
		s.journaled = append(s.journaled, seqEvent{s.seq, ev})
		if ev.Type == wizard.EvStepStarted {
			delete(s.progress, ev.Step)
		}
	}
	m := Message{Event: &ev}
	for c := range s.clients {
		s.sendLocked(c, m, ev.Type.Journaled())
	}
}

// WaitClient waits until a client is attached, at most timeout, and
// reports whether one is: a runner waits so for the client that started
// it, so that this client sees every event in order, none only as part of
// a snapshot.
func (s *Server) WaitClient(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if n, _ := s.Clients(); n > 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Clients returns how many clients are attached, and whether one has
// control.
func (s *Server) Clients() (n int, control bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients), s.control != nil
}

// Finish sends the end to every client, gives them up to grace to read it,
// then closes the socket and removes it.
func (s *Server) Finish(end End, grace time.Duration) {
	s.mu.Lock()
	s.end = &end
	for c := range s.clients {
		s.sendLocked(c, Message{End: &end}, true)
	}
	clients := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	timeout := time.After(grace)
	for _, c := range clients {
		close(c.fin)
	}
	for _, c := range clients {
		select {
		case <-c.done:
		case <-timeout:
		}
	}
	_ = s.ln.Close()
	_ = os.Remove(s.o.Path)
	for _, c := range clients {
		c.close()
	}
	s.wg.Wait()
}
