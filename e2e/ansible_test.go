package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ansiblePlaybook runs examples/ansible/site.yml with Debian's
// ansible-playbook against this machine (ansible_connection=local), the
// GreenArrow demo as the migration and answers as this host's answers
// file. It returns the playbook's combined output, its exit code and the
// directory the reports were collected into.
func ansiblePlaybook(t *testing.T, answers string) (string, int, string) {
	t.Helper()
	dir := t.TempDir()
	work, demo, collect := filepath.Join(dir, "work"), filepath.Join(dir, "demo"), filepath.Join(dir, "reports")
	src := filepath.Join(dir, "localhost.yaml")
	if err := os.WriteFile(src, []byte(answers), 0o600); err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(dir, "inventory.ini")
	if err := os.WriteFile(inv, []byte("[new_mail_servers]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars, err := json.Marshal(map[string]any{
		"ferry_bin": ferryBin,
		"ferry_command": []string{ferryBin, "demo", "greenarrow", "--headless", "--dir", demo, "--messages", "200",
			"--answers", filepath.Join(work, "answers")},
		"ferry_state_dir":   filepath.Join(demo, "state"),
		"ferry_work_dir":    work,
		"ferry_answers_src": src,
		"ferry_collect_dir": collect,
		"ferry_poll":        2,
		// Root already, and sudo is not installed everywhere.
		"ansible_become": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	varsFile := filepath.Join(dir, "vars.json")
	if err := os.WriteFile(varsFile, vars, 0o600); err != nil {
		t.Fatal(err)
	}
	playbook, err := filepath.Abs("../examples/ansible/site.yml")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ansible-playbook", "-i", inv, "-e", "@"+varsFile, playbook)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "ansible-tmp"),
		"ANSIBLE_RETRY_FILES_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("ansible-playbook: %v", err)
	}
	return out.String(), code, filepath.Join(collect, "localhost")
}

// demoAnswersFile is an answers file for the GreenArrow demo, as an admin
// would write it for one host (old_addr and ssh_port come from the
// simulated pair).
const demoAnswersFile = `answers:
  ip_change: "no"
  backup_dir: "/root/greenarrow-backup"
  resolvers: "8.8.8.8 8.8.4.4 1.1.1.1"
  test_address: "postmaster@example.net"
  lifeline: "no"
repeat:
  migration-first-pass: 2
confirm: [stop-old, remove-old-queue, remove-licences, delete-old-queue]
done: [backup-old, repository-key, install-prerequisites, move-ips,
       performance-tuning, new-ips, other-changes, test-message-arrived, tell-vendor]
`

func needAnsible(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		msg := "ansible-playbook is not installed: the Ansible example (examples/ansible) is NOT TESTED; apt-get install ansible"
		fmt.Fprintf(os.Stderr, "\n!!! %s: %s\n\n", t.Name(), msg)
		t.Skip(msg)
	}
}

// TestAnsibleExampleMigratesTheDemo runs the example playbook to the end of
// the GreenArrow demo: the host passes, its steps went by in Ansible's
// output, and the report collected on the controller says the migration
// finished.
func TestAnsibleExampleMigratesTheDemo(t *testing.T) {
	needAnsible(t)
	t.Parallel()
	out, code, collected := ansiblePlaybook(t, demoAnswersFile)
	if code != 0 {
		t.Fatalf("ansible-playbook exit %d:\n%s", code, out)
	}
	for _, want := range []string{"(item=merge-queue: ", "(item=tell-vendor: ", "run_finished", "localhost                  : ok="} {
		if !strings.Contains(out, want) {
			t.Errorf("the playbook's output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "failed=0") {
		t.Errorf("the host did not pass:\n%s", out)
	}
	report, err := os.ReadFile(filepath.Join(collected, "report.md"))
	if err != nil {
		t.Fatalf("no report collected: %v\n%s", err, out)
	}
	if !strings.Contains(string(report), "the migration ran to its end") {
		t.Errorf("the collected report does not say the migration finished:\n%s", report)
	}
	events, err := os.ReadFile(filepath.Join(collected, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(events, []byte("{\"ferry_exit\": 0}\n")) || !bytes.Contains(events, []byte(`"type":"run_finished","status":"ok"`)) {
		t.Errorf("the collected events do not end with a finished run and exit 0:\n%.2000s", events[max(0, len(events)-2000):])
	}
}

// TestAnsibleExampleFailsTheHostNamingTheStep gives the host an answers file
// that stops ferry: without ip_change it needs a person (exit 3) at the
// step that asks it; with a backup directory that does not exist, the step
// that looks for the backup fails (exit 1). Each time the playbook fails
// the host naming the step (and the key asked), and still collects the
// report.
func TestAnsibleExampleFailsTheHostNamingTheStep(t *testing.T) {
	needAnsible(t)
	t.Parallel()
	for _, c := range []struct {
		name, answers, want string
	}{
		{"exit 3", strings.Replace(demoAnswersFile, "  ip_change: \"no\"\n", "", 1),
			"ferry exit 3: step ip-change needs a person (answers: ip_change)"},
		{"exit 1", strings.Replace(demoAnswersFile, "/root/greenarrow-backup", "/root/no-backup-here", 1),
			"ferry exit 1: step backup-files-present failed: missing in /root/no-backup-here on old"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.answers == demoAnswersFile {
				t.Fatal("the answers file was not changed")
			}
			out, code, collected := ansiblePlaybook(t, c.answers)
			if code == 0 {
				t.Fatalf("the playbook passed with answers that stop ferry:\n%s", out)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("the host's failure does not say %q:\n%s", c.want, out)
			}
			if !strings.Contains(out, "failed=1") {
				t.Errorf("the host is not counted as failed:\n%s", out)
			}
			report, err := os.ReadFile(filepath.Join(collected, "report.md"))
			if err != nil {
				t.Fatalf("no report collected for the failed host: %v", err)
			}
			if strings.Contains(string(report), "the migration ran to its end") {
				t.Errorf("the report of a stopped migration says it finished:\n%s", report)
			}
		})
	}
}
