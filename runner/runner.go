// Package runner keeps a migration going when the admin's terminal goes
// away. The engine runs in a runner process detached from the terminal
// (its own session, so the SSH session's SIGHUP never reaches it), which
// serves its events on a unix socket in the state directory (SocketFile,
// mode 0600). The run screen is a client of it: one client at a time has
// control and sends decisions; any number of read-only observers watch.
// A client that goes away changes nothing: the step goes on and the runner
// waits at the next question for a client to answer it.
//
// The protocol is one JSON object per line (Message), as tailscale's
// local API streams its notifications (ANCHORS.md): on connecting, a
// client says hello with its role; the runner sends what happened so far
// in this run (every journaled event, the last output lines and the last
// counters of each step), then every event live, then the end with the
// exit code.
package runner

import (
	"encoding/json"
	"time"

	"github.com/ferry-migrate/ferry/wizard"
)

// SocketFile is the runner's socket in the state directory.
const SocketFile = "runner.sock"

// LogFile is where the runner writes what it would print on a terminal
// (its errors), in the state directory.
const LogFile = "runner.log"

// Roles a client takes on the socket.
const (
	// RoleControl may send decisions; one client at a time has it, and a
	// new one takes it over (the previous one is told and watches on).
	RoleControl = "control"
	// RoleObserve watches only: the runner refuses its decisions.
	RoleObserve = "observe"
)

// Message is one line on the socket, in either direction; exactly one of
// its fields is set.
type Message struct {
	// Client to runner.
	Hello     *Hello           `json:"hello,omitempty"`
	Decide    *wizard.Decision `json:"decide,omitempty"`
	Interrupt bool             `json:"interrupt,omitempty"`

	// Runner to client.
	Welcome *Welcome      `json:"welcome,omitempty"`
	Event   *wizard.Event `json:"event,omitempty"`
	// Notice is a sentence for the client's person ("control was taken by
	// root from 198.51.100.7: you watch now").
	Notice string `json:"notice,omitempty"`
	// Demoted comes with the Notice sent to the controlling client when
	// another takes control: from then on it only watches.
	Demoted bool `json:"demoted,omitempty"`
	// Synced follows what happened so far (sent on attaching): what comes
	// after it is live.
	Synced bool `json:"synced,omitempty"`
	End    *End `json:"end,omitempty"`
}

// Hello is the first line a client sends.
type Hello struct {
	Role string `json:"role"`
	// Who is the person at the client (wizard.Who).
	Who string `json:"who"`
}

// Welcome answers a Hello: the role granted and what the runner runs.
type Welcome struct {
	Role    string `json:"role"`
	PID     int    `json:"pid"`
	Runbook string `json:"runbook"`
	// Since is when the runner started.
	Since time.Time `json:"since"`
	// Before holds the journal's events from before this runner's run:
	// the client replays them (wizard.Replay) for the state the run
	// started from, then applies what the runner sends.
	Before []wizard.Event `json:"before,omitempty"`
	// OldName and NewName label the servers; Note is shown beside every
	// question (tui.RunOptions).
	OldName string `json:"old_name,omitempty"`
	NewName string `json:"new_name,omitempty"`
	Note    string `json:"note,omitempty"`
	// Unattended is true for a runner that answers from an answers file
	// (started by a run with plain or JSON output): it takes no decisions
	// from any client, only a controlling client's interrupt.
	Unattended bool `json:"unattended,omitempty"`
	// Command is the command line that goes on with this migration after
	// the run ends: the one that started the runner, without --start-over
	// (cmd.resumeCommand); "" when unknown.
	Command string `json:"command,omitempty"`
}

// End is the runner's last line: how the run ended.
type End struct {
	// Code is the exit code ferry would have exited with (cmd.ExitCode).
	Code int `json:"code"`
	// Error is the error's sentence, "" when the run ended well.
	Error string `json:"error,omitempty"`
	// Step is the step an unattended run stopped at because it needs a
	// person (Code 3), "" otherwise.
	Step string `json:"step,omitempty"`
}

func encode(m Message) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
