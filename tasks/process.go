package tasks

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/ferry-migrate/ferry/remote"
)

// procListing prints one line per process: "PID<TAB>ARG0<US>ARG1<US>…",
// where US is the ASCII unit separator (0x1f). It reads /proc/PID/cmdline,
// which holds the exact argv separated by NUL bytes (proc(5)), so nothing is
// lost to the column widths or the joining with spaces that ps and pgrep -f
// do. A process that ends while the loop runs is skipped.
const procListing = `for f in /proc/[0-9]*/cmdline; do p=${f#/proc/}; p=${p%/cmdline}; a=$(tr '\000' '\037' < "$f" 2>/dev/null) || continue; [ -n "$a" ] && printf '%s\t%s\n' "$p" "$a"; done`

// ProcListing is the sh script RunningProgram runs (sh -c) to list the
// processes, for plans that show the command.
const ProcListing = procListing

// interpreters are the programs that run a script named by their first
// argument: for a script with a "#!" line the kernel starts the interpreter
// with the script's path as argv[1] (execve(2)).
var interpreters = map[string]bool{
	"sh": true, "bash": true, "dash": true, "ksh": true, "zsh": true,
	"perl": true, "ruby": true, "python": true, "python2": true, "python3": true,
}

// RunningProgram returns the process ids of the processes on h that run the
// program at the runbook path program: those whose argv[0] is that path, or
// whose argv[0] is a script interpreter (sh, bash, perl, ruby, python…) and
// whose argv[1] is that path. The path is compared exactly, after h.Path maps
// it, so an editor, a pager or a shell line that merely mentions the path is
// never taken for the program (pgrep -f matches any substring of the joined
// command line, which is how an unrelated process once held a merge for two
// minutes). The listing comes from /proc/PID/cmdline (proc(5)) through a
// POSIX sh on h. The error is h's, or the listing's exit status.
func RunningProgram(ctx context.Context, h remote.Host, program string) ([]int, error) {
	want := h.Path(program)
	var out strings.Builder
	r, err := h.Exec(ctx, remote.Cmd{Argv: []string{"sh", "-c", procListing}, Stdout: &out})
	if err != nil {
		return nil, fmt.Errorf("list processes on %s: %w", h.Name(), err)
	}
	if r.ExitCode != 0 && out.Len() == 0 {
		return nil, fmt.Errorf("list processes on %s: the listing exited with code %d", h.Name(), r.ExitCode)
	}
	// Only the path as h maps it: on a simulated host (a root other than
	// "/") a process running the bare runbook path is another machine's
	// or another test's, and once held a demo's merge for as long as it ran.
	return matchProcesses(out.String(), want), nil
}

// matchProcesses picks from a procListing output the pids running program,
// named by any of the given paths.
func matchProcesses(listing string, paths ...string) []int {
	is := func(s string) bool {
		for _, p := range paths {
			if s == p {
				return true
			}
		}
		return false
	}
	var pids []int
	for _, line := range strings.Split(listing, "\n") {
		pidText, args, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidText)
		if err != nil {
			continue
		}
		argv := strings.Split(strings.TrimSuffix(args, "\x1f"), "\x1f")
		switch {
		case is(argv[0]):
			pids = append(pids, pid)
		case len(argv) > 1 && interpreters[path.Base(argv[0])] && is(argv[1]):
			pids = append(pids, pid)
		}
	}
	return pids
}
