package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ferry-migrate/ferry/assets"
	"github.com/ferry-migrate/ferry/testenv"
	"github.com/ferry-migrate/ferry/wizard"
)

// TestRunOldImpossibleAddress: an address that cannot be one is bad input,
// refused at once (exit 2) with a message naming it, before any state is
// written.
func TestRunOldImpossibleAddress(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	// An alias whose HostName is impossible is refused the same way.
	if err := os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte("Host broken\n  HostName 300.1.2.3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{"999.1.1.1", "root@999.1.1.1:2222", "10.1", "broken"} {
		t.Run(old, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "state")
			code, out, errb := run(t, "", false, "run", "--runbook", "greenarrow", "--headless", "--old", old, "--state-dir", state)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d (bad input)\nstdout %s\nstderr %s", code, ExitUsage, out, errb)
			}
			if !strings.Contains(errb, strconv.Quote(old)) {
				t.Errorf("stderr %q does not name the input %q", errb, old)
			}
			if out != "" {
				t.Errorf("stdout %q: a refused start printed events", out)
			}
			if _, err := os.Stat(state); !os.IsNotExist(err) {
				t.Errorf("the state directory exists after a refused start (%v)", err)
			}
		})
	}
}

// TestRunOldConfigAlias: "ferry run --old oldserver" with only root's ssh
// config knowing the address, the port and the key (IdentityFile with "~"):
// the SSH step connects without asking the port, and old_addr is the IP
// address while ferry still names the alias.
func TestRunOldConfigAlias(t *testing.T) {
	srv := testenv.StartSSHD(t, testenv.SSHDOptions{})
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	dir := filepath.Join(home, ".ssh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{srv.UserKey: "old_key", srv.KnownHosts: "known_hosts"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf("Host oldserver\n  HostName 127.0.0.1\n  Port %d\n  IdentityFile ~/.ssh/old_key\n", srv.Port)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// A runbook of the GreenArrow preflight's first two steps, check-root
	// and ssh-old, as the built-in runbook has them.
	file := filepath.Join(t.TempDir(), "ssh.yaml")
	writeSubRunbook(t, "greenarrow", file, "check-root", "ssh-old")

	state := filepath.Join(t.TempDir(), "state")
	code, out, errb := run(t, "", false, "run", "--runbook", file, "--headless", "--old", "oldserver", "--state-dir", state)
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s\nsshd log:\n%s", code, out, errb, srv.Log())
	}
	var sshOK bool
	facts := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev wizard.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("event %q: %v", l, err)
		}
		if ev.Type == wizard.EvWaiting {
			t.Errorf("the run waited for a person: %s", l)
		}
		for k, v := range ev.Facts {
			facts[k] = v
		}
		if ev.Type == wizard.EvStepFinished && ev.Step == "ssh-old" && ev.Status == wizard.StatusOK {
			sshOK = true
			if !strings.Contains(ev.Message, "port "+strconv.Itoa(srv.Port)) || !strings.Contains(ev.Message, "oldserver") {
				t.Errorf("ssh-old message %q names neither the alias nor port %d", ev.Message, srv.Port)
			}
		}
	}
	if !sshOK {
		t.Fatalf("ssh-old did not finish ok:\n%s", out)
	}
	if facts["old_addr"] != "127.0.0.1" || facts["old_host"] != "oldserver" {
		t.Errorf("facts old_addr %q, old_host %q; want 127.0.0.1 and oldserver", facts["old_addr"], facts["old_host"])
	}
}

// writeSubRunbook writes to file the built-in runbook name with only the
// steps ids, each as the built-in runbook has it.
func writeSubRunbook(t *testing.T, name, file string, ids ...string) {
	t.Helper()
	b, err := assets.Runbook(name)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "steps" {
			continue
		}
		var kept []*yaml.Node
		for _, st := range top.Content[i+1].Content {
			for j := 0; j+1 < len(st.Content); j += 2 {
				if st.Content[j].Value == "id" && slices.Contains(ids, st.Content[j+1].Value) {
					kept = append(kept, st)
				}
			}
		}
		if len(kept) != len(ids) {
			t.Fatalf("runbook %s has %d of the steps %v", name, len(kept), ids)
		}
		top.Content[i+1].Content = kept
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
