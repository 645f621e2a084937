package tasks

import (
	"os"
	"strings"
	"testing"
)

// TestRsyncExitNamesTheChangedHostKey: rsync's exit 255 after the system
// ssh refused a host key whose type changed (the real stderr of rsync 3.2.7
// over OpenSSH 9.2, remote/testdata/ssh) names the known_hosts file and
// line, not "the SSH connection failed".
func TestRsyncExitNamesTheChangedHostKey(t *testing.T) {
	b, err := os.ReadFile("../remote/testdata/ssh/key-type-changed-rsync.stderr")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	e := &RsyncExitError{Code: 255, Meaning: RsyncExitMeaning(255), Stage: "transfer", Stderr: lines[max(0, len(lines)-20):]}
	msg := e.Error()
	for _, w := range []string{"code 255", "HOST KEY CHANGED", "/tmp/hk/kh2 line 2", "key type changed"} {
		if !strings.Contains(msg, w) {
			t.Errorf("%q lacks %q", msg, w)
		}
	}
}
