package remote

import (
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// readPace is how long a paced reader waits after a read that found the
// pipe nearly drained, so that the next read takes a batch of records
// instead of one: a program that flushes every record (rsync's progress,
// pg_restore --verbose) otherwise wakes ferry once per record, and on a
// busy machine each wake-up costs far more than the record's parsing.
// 100 ms matches the screen's 10 updates a second and is the most a line
// waits.
const readPace = 100 * time.Millisecond

// pacedBufSize is the size of one read: a quarter of a megabyte holds
// thousands of rsync records.
const pacedBufSize = 256 << 10

// pipeSize is the pipe capacity asked of the kernel (F_SETPIPE_SZ), so that
// the writer does not block while the reader waits: at 1 MiB it would have
// to print 10 MB a second to fill it between two reads. Linux's default
// limit for an unprivileged process (/proc/sys/fs/pipe-max-size) is 1 MiB.
const pipeSize = 1 << 20

// fSetPipeSize is Linux's F_SETPIPE_SZ fcntl command (fcntl(2)).
const fSetPipeSize = 1031

// pacedPipe is a pipe whose read end is drained into a *Lines by a
// goroutine that reads in large blocks and pauses when the pipe runs dry.
type pacedPipe struct {
	r, w   *os.File
	dst    io.Writer
	exited chan struct{} // closed when the command has exited: stop pausing
	done   chan struct{} // closed when the reader has seen EOF
	once   sync.Once
}

// newPacedPipe returns a pipe for dst; the caller gives p.w to the child,
// closes it after the start, and calls wait after the child exits.
func newPacedPipe(dst io.Writer) (*pacedPipe, error) {
	// A blocking pipe, kept out of Go's network poller: a pipe in the
	// poller (os.Pipe) wakes a poller thread on every write of the child,
	// even while the reader pauses, which costs as much as reading each
	// record. Here only the reader's own read and pause wake ferry.
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		return nil, err
	}
	r, w := os.NewFile(uintptr(fds[0]), "|0"), os.NewFile(uintptr(fds[1]), "|1")
	// Best effort: a smaller pipe only means more reads.
	if rc, err := w.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSize, pipeSize)
		})
	}
	return &pacedPipe{r: r, w: w, dst: dst, exited: make(chan struct{}), done: make(chan struct{})}, nil
}

// start begins draining the read end.
func (p *pacedPipe) start() {
	go func() {
		defer close(p.done)
		defer p.r.Close()
		buf := make([]byte, pacedBufSize)
		t := time.NewTimer(readPace)
		t.Stop()
		for {
			n, err := p.r.Read(buf)
			if n > 0 {
				_, _ = p.dst.Write(buf[:n])
			}
			if err != nil {
				return
			}
			if n >= len(buf)/2 {
				continue // more is waiting: read on at once
			}
			select {
			case <-p.exited:
				// The command is gone: read what is left without pausing.
			default:
				t.Reset(readPace)
				select {
				case <-t.C:
				case <-p.exited:
					t.Stop()
				}
			}
		}
	}()
}

// closeWrite closes ferry's copy of the write end (after the child has its
// own), so that the reader sees EOF once the child's copies are gone.
func (p *pacedPipe) closeWrite() { _ = p.w.Close() }

// wait tells the reader the command has exited and waits until it has
// delivered everything.
func (p *pacedPipe) wait() {
	p.once.Do(func() { close(p.exited) })
	<-p.done
}

// discard closes both ends when the command could not be started.
func (p *pacedPipe) discard() {
	_ = p.w.Close()
	_ = p.r.Close()
}
