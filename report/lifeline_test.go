package report

import (
	"testing"

	"github.com/ferry-migrate/ferry/wizard"
)

// The spare sshd kept during a step that can cut access, and one a killed
// ferry left and the next run stopped, are in the history.
func TestLifelineInTheHistory(t *testing.T) {
	evs := unfinishedJournal()
	evs = append(evs,
		wizard.Event{Time: evs[len(evs)-1].Time, Type: wizard.EvLifelineUp, Step: "final-sync", Host: "new",
			Message: "spare sshd on port 2222 until this step ends (pid 4242, it answers SSH-2.0-OpenSSH_9.2p1)"},
		wizard.Event{Time: evs[len(evs)-1].Time, Type: wizard.EvLifelineDown, Host: "new",
			Message: "stopped the spare sshd (pid 4242) that an earlier ferry started and could not stop"})
	out := render(t, load(t, evs, false), testRunbook(), "markdown")
	mustContain(t, out,
		"| spare sshd | Migration script, final pass (final-sync): spare sshd on port 2222 until this step ends (pid 4242",
		"| spare sshd | stopped the spare sshd (pid 4242) that an earlier ferry started and could not stop |")
}
