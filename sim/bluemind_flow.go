package sim

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MailFlow delivers mail on the old server of a BlueMind pair while
// BlueMind runs there, as its users' correspondents would: each delivery
// adds a message to a mailbox of the mail store, appends to that mailbox's
// index, and archives a copy in bm-hsm. So the hot copies have something
// new to carry each time, and the cold copy, once bmctl stop has stopped
// BlueMind, the last of it.
type MailFlow struct {
	cancel context.CancelFunc
	done   chan struct{}
	n      atomic.Int64
}

// StartMailFlow starts delivering one message every interval (default
// 200ms) for as long as the old server's simulated BlueMind service is up.
// Stop ends it.
func (s *Sim) StartMailFlow(ctx context.Context, interval time.Duration) *MailFlow {
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(ctx)
	f := &MailFlow{cancel: cancel, done: make(chan struct{})}
	var once sync.Once
	go func() {
		defer once.Do(func() { close(f.done) })
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if !s.oldBlueMindUp() {
				continue
			}
			if err := s.deliver(f.n.Load() + 1); err == nil {
				f.n.Add(1)
			}
		}
	}()
	return f
}

// Stop ends the flow, waits for a delivery under way, and returns how many
// messages were delivered.
func (f *MailFlow) Stop() int64 {
	f.cancel()
	<-f.done
	return f.n.Load()
}

func (s *Sim) oldBlueMindUp() bool {
	b, err := os.ReadFile(s.OldRoot + "/.ferry-sim/services/bluemind")
	return err == nil && strings.HasPrefix(string(b), "up")
}

// deliver writes message n of this run.
func (s *Sim) deliver(n int64) error {
	u := n%bmUsers + 1
	box := fmt.Sprintf("%s/var/spool/cyrus/data/example_net/domain/e/example.net/u/user%d", s.OldRoot, u)
	stamp := time.Now().UnixNano()
	body := fmt.Sprintf("From: flow@example.org\r\nTo: user%d@example.net\r\nSubject: arrived while BlueMind ran (%d)\r\nMessage-ID: <flow.%d@example.org>\r\n\r\nDelivered by ferry's simulator.\r\n", u, n, stamp)
	name := fmt.Sprintf("%s/flow-%d.", box, stamp)
	if err := writeFile(name, []byte(body), 0o600); err != nil {
		return err
	}
	idx, err := os.OpenFile(box+"/cyrus.index", os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(idx, "flow-%d\n", stamp)
	if cerr := idx.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return writeFile(fmt.Sprintf("%s/var/spool/bm-hsm/snappy/user/example.net/flow/%d", s.OldRoot, stamp), []byte(body), 0o640)
}
