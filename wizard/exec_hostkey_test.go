package wizard

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemSSHHostKeyRefusalRecordsTrueExit: when the old server's key in
// known_hosts no longer matches (here: replaced after ferry's own
// connection was made, as if the server had been reinstalled), the rsync
// that runs the system ssh is refused. The step's record keeps rsync's real
// exit status (255 when ssh's refusal ends it, 12 when rsync notices the
// dead stream first: both seen on rsync 3.2.7; never 0) and the error
// names the known_hosts file and line, so the report and the screen tell
// the admin where to look.
func TestSystemSSHHostKeyRefusalRecordsTrueExit(t *testing.T) {
	t.Parallel()
	b := newBMPair(t, nil)
	for _, d := range paramList(t, b.rb, "spools") {
		bmWrite(t, b.oldRoot, d+"/a.dat", "old "+d)
	}
	if _, err := b.run(t, b.step(t, "sync-spools-hot", nil)); err != nil {
		t.Fatalf("first hot pass: %v", err)
	}

	// Another key for the same host and port, on the file's only line.
	kh := b.x.OldSSH.KnownHostsFile
	orig, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(strings.TrimSpace(string(orig)))
	if len(fields) < 3 {
		t.Fatalf("known_hosts %s: unexpected line %q", kh, orig)
	}
	other := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(other + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pf := strings.Fields(string(pub))
	if err := os.WriteFile(kh, []byte(fields[0]+" "+pf[0]+" "+pf[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	o, err := b.run(t, b.step(t, "sync-spools-hot", nil))
	if err == nil {
		t.Fatal("the hot pass went ahead although the system ssh met another host key")
	}
	for _, w := range []string{kh + " line 1", "rsync transfer exited with code"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error lacks %q:\n%v", w, err)
		}
	}
	n := 0
	for _, c := range o.Commands {
		if strings.HasPrefix(c.Command, "rsync ") {
			n++
			if c.Exit != 255 && c.Exit != 12 {
				t.Errorf("recorded exit %d for %s, want rsync's own (255 or 12)", c.Exit, c.Command)
			}
		}
	}
	if n == 0 {
		t.Errorf("no rsync recorded in the step's commands: %+v", o.Commands)
	}
}
