package runner

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-migrate/ferry/wizard"
)

// ErrNoRunner is returned by Dial when no runner answers on the socket.
var ErrNoRunner = errors.New("no ferry runner answers for this state directory")

// ErrLost is returned by Client.Stream when the connection ended before
// the runner sent its end (the runner died, or dropped a client that fell
// behind).
var ErrLost = errors.New("the connection to the ferry runner was lost before the run ended")

// Client is one connection to a runner.
type Client struct {
	// Welcome is what the runner said to the hello: the role granted
	// and what it runs.
	Welcome Welcome

	conn net.Conn
	sc   *bufio.Scanner
	wmu  sync.Mutex
}

// Dial connects to the runner on the socket at path and says hello. It
// returns ErrNoRunner when nothing answers there.
func Dial(path string, h Hello) (*Client, error) {
	conn, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w (%s: %v)", ErrNoRunner, path, err)
	}
	c := &Client{conn: conn, sc: bufio.NewScanner(conn)}
	c.sc.Buffer(make([]byte, 64<<10), 8<<20)
	if err := c.send(Message{Hello: &h}); err != nil {
		_ = conn.Close()
		return nil, err
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m Message
	if !c.sc.Scan() || json.Unmarshal(c.sc.Bytes(), &m) != nil || m.Welcome == nil {
		_ = conn.Close()
		return nil, fmt.Errorf("runner on %s: no welcome", path)
	}
	_ = conn.SetReadDeadline(time.Time{})
	c.Welcome = *m.Welcome
	return c, nil
}

func (c *Client) send(m Message) error {
	b, err := encode(m)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err = c.conn.Write(b)
	return err
}

// Decide sends a decision; the runner passes it to the engine if this
// client has control, and refuses it otherwise (a notice comes back).
func (c *Client) Decide(d wizard.Decision) error { return c.send(Message{Decide: &d}) }

// Interrupt asks the runner to stop the running step (control only).
func (c *Client) Interrupt() error { return c.send(Message{Interrupt: true}) }

// Close leaves the runner; the run goes on without this client.
func (c *Client) Close() error { return c.conn.Close() }

// Stream reads the runner's messages after the welcome, calling fn for
// each, until the runner's end (returned) or the connection drops
// (ErrLost, or the read error after Close).
func (c *Client) Stream(fn func(Message)) (*End, error) {
	for c.sc.Scan() {
		var m Message
		if err := json.Unmarshal(c.sc.Bytes(), &m); err != nil {
			continue
		}
		fn(m)
		if m.End != nil {
			return m.End, nil
		}
	}
	if err := c.sc.Err(); err != nil && !errors.Is(err, net.ErrClosed) {
		return nil, fmt.Errorf("%w: %v", ErrLost, err)
	}
	return nil, ErrLost
}

// WaitExit waits until process pid (a runner that sent its end) is gone,
// at most timeout, and reports whether it is. A runner still writes its
// journal's last lines, the saved answers and releases the lock after its
// end: a client that returns only then lets the next ferry command (or a
// script removing the state directory) find the migration at rest.
func WaitExit(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
