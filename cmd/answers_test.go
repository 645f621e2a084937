package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/wizard"
)

// fillAnswers fills in an answers template as an admin would: each empty
// value of a key gets a valid one for its type, and the commented-out steps
// of the confirm and done lists are uncommented.
func fillAnswers(t *testing.T, rb *wizard.Runbook, tmpl string) string {
	t.Helper()
	sample := map[string]string{"address": "192.0.2.10", "port": "2222", "yesno": "no", "path": "/root/greenarrow-backup",
		"ips": "9.9.9.9", "email": "postmaster@example.net", "secret": "s3cret", "text": "text", "lifeline": "no"}
	for _, k := range wizard.AnswerKeys(rb) {
		v, ok := sample[k.Type]
		if k.Type == "choice" {
			v, ok = k.Choices[0], true
		}
		if !ok {
			t.Fatalf("no sample for type %s", k.Type)
		}
		tmpl = strings.Replace(tmpl, "\n  "+k.Key+": \"\"\n", "\n  "+k.Key+": \""+v+"\"\n", 1)
	}
	var out []string
	list := ""
	for _, line := range strings.Split(tmpl, "\n") {
		if strings.HasSuffix(line, ":") && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#") {
			list = strings.TrimSuffix(line, ":")
		}
		if (list == "confirm" || list == "done") && strings.HasPrefix(line, "  # - ") {
			line = "  - " + strings.TrimPrefix(line, "  # - ")
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func TestAnswersSchemaCommand(t *testing.T) {
	for _, name := range []string{"greenarrow", "bluemind"} {
		code, out, errs := run(t, "", false, "answers", "schema", "--runbook", name)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, errs)
		}
		var s struct {
			Schema     string `json:"$schema"`
			Properties struct {
				Answers struct {
					Properties map[string]any `json:"properties"`
				} `json:"answers"`
			} `json:"properties"`
		}
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("%s: the schema is not JSON: %v", name, err)
		}
		if s.Schema != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema %q", name, s.Schema)
		}
		rb, err := wizard.LoadRunbook(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range wizard.AnswerKeys(rb) {
			if _, ok := s.Properties.Answers.Properties[k.Key]; !ok {
				t.Errorf("%s: key %s is not in the printed schema", name, k.Key)
			}
		}
	}
	code, out, _ := run(t, "", false, "answers", "schema")
	var any struct {
		AnyOf []map[string]string `json:"anyOf"`
		Defs  map[string]any      `json:"$defs"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &any) != nil || len(any.AnyOf) != 2 || any.Defs["greenarrow"] == nil || any.Defs["bluemind"] == nil {
		t.Errorf("the schema for any runbook: exit %d, %.200s", code, out)
	}
}

func TestAnswersTemplateFilledInIsChecked(t *testing.T) {
	for _, name := range []string{"greenarrow", "bluemind"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			code, tmpl, errs := run(t, "", false, "answers", "template", "--runbook", name)
			if code != 0 || !strings.HasPrefix(tmpl, "# ferry answers file for runbook "+name) {
				t.Fatalf("template: exit %d, %s%.200s", code, errs, tmpl)
			}
			rb, err := wizard.LoadRunbook(name)
			if err != nil {
				t.Fatal(err)
			}
			raw := filepath.Join(dir, "raw.yaml")
			if err := os.WriteFile(raw, []byte(tmpl), 0o600); err != nil {
				t.Fatal(err)
			}
			// Unfilled, it is refused, naming the first key to fill in.
			code, _, errs = run(t, "", false, "answers", "check", "--runbook", name, raw)
			first := ""
			for _, k := range wizard.AnswerKeys(rb) {
				if k.Always && k.Default == "" {
					first = k.Key
					break
				}
			}
			if code != 2 || !strings.Contains(errs, "key "+first+": expected ") {
				t.Errorf("unfilled template: exit %d, stderr %q; want 2 naming %s", code, errs, first)
			}

			filled := filepath.Join(dir, "answers.yaml")
			if err := os.WriteFile(filled, []byte(fillAnswers(t, rb, tmpl)), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errs := run(t, "", false, "answers", "check", "--runbook", name, filled)
			if code != 0 || !strings.Contains(out, "good for runbook "+name) {
				t.Fatalf("filled template: exit %d, stdout %q, stderr %q", code, out, errs)
			}

			// Broken: one value made wrong is refused, naming its key.
			broken := filepath.Join(dir, "broken.yaml")
			b, _ := os.ReadFile(filled)
			text := strings.Replace(string(b), "\n  ip_change: \"no\"\n", "\n  ip_change: \"maybe\"\n", 1)
			text = strings.Replace(text, "\n  precopy_cyrus: \"yes\"\n", "\n  precopy_cyrus: \"maybe\"\n", 1)
			if text == string(b) {
				t.Fatal("nothing to break")
			}
			if err := os.WriteFile(broken, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, errs = run(t, "", false, "answers", "check", "--runbook", name, broken)
			if code != 2 || !strings.Contains(errs, `: expected yes or no (also y, n, true, false), got "maybe"`) {
				t.Errorf("broken file: exit %d, stderr %q", code, errs)
			}
		})
	}
}

// TestRunAcceptsTheFilledTemplate gives ferry run the filled-in template:
// the same loader and checks let it through, and the run goes on to its
// first question the file leaves open (the old server's address, which
// --old would give), where a headless run stops with exit 3 naming it.
func TestRunAcceptsTheFilledTemplate(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("ferry run's first step checks that it runs as root")
	}
	dir := t.TempDir()
	rb, err := wizard.LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	_, tmpl, _ := run(t, "", false, "answers", "template", "--runbook", "greenarrow")
	file := filepath.Join(dir, "answers.yaml")
	if err := os.WriteFile(file, []byte(fillAnswers(t, rb, tmpl)), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	code, out, errs := run(t, "", false, "run", "--runbook", "greenarrow", "--headless", "--answers", file, "--state-dir", state)
	if code != ExitNeedsHuman || !strings.Contains(errs, "step ssh-old needs a person") || !strings.Contains(errs, "old_addr") {
		t.Fatalf("exit %d, stderr %q: want 3 naming old_addr, no complaint about the answers file", code, errs)
	}
	passed := false
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev wizard.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not a JSON event: %q", line)
		}
		passed = passed || ev.Type == wizard.EvStepFinished && ev.Step == "check-root" && ev.Status == wizard.StatusOK
	}
	if !passed {
		t.Errorf("the run did not pass its first step:\n%s", out)
	}
}

// TestDemoAnswersFlagRefusals: --answers on a demo is refused on the run
// screen (a terminal, without --headless), and a file that gives old_addr
// or ssh_port (which the simulated pair gives) is refused naming the key,
// headless or with plain output (no terminal); none writes to the demo's
// directory.
func TestDemoAnswersFlagRefusals(t *testing.T) {
	t.Setenv("TERM", "xterm")
	dir := t.TempDir()
	file := filepath.Join(dir, "a.yaml")
	if err := os.WriteFile(file, []byte("answers:\n  ssh_port: \"22\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	demo := filepath.Join(dir, "demo")
	code, _, errs := run(t, "", true, "demo", "greenarrow", "--dir", demo, "--answers", file)
	if code != 2 || !strings.Contains(errs, "add --headless") {
		t.Errorf("on a terminal without --headless: exit %d, stderr %q", code, errs)
	}
	for _, args := range [][]string{{"--headless"}, {"--json"}, nil} {
		code, _, errs = run(t, "", false, append([]string{"demo", "greenarrow", "--dir", demo, "--answers", file}, args...)...)
		if code != 2 || !strings.Contains(errs, "key ssh_port: the demo's simulated old server gives it") {
			t.Errorf("with ssh_port, %v, no terminal: exit %d, stderr %q", args, code, errs)
		}
	}
	if _, err := os.Stat(demo); !os.IsNotExist(err) {
		t.Errorf("a refused demo made its directory (%v)", err)
	}
}

// TestAnswersCheckOrderAndOpenSteps: the findings come in the file's line
// order (a type error found while reading, below a misspelt step found
// while checking, comes after it), and a good file's summary names the
// manual and destructive steps a headless run would still stop at.
func TestAnswersCheckOrderAndOpenSteps(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("confirm: [stop-olds]\nanswers:\n  ssh_port: [22]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, "", false, "answers", "check", "--runbook", "greenarrow", bad)
	i1, i3 := strings.Index(errs, "bad.yaml:1: confirm"), strings.Index(errs, "bad.yaml:3: key ssh_port")
	if code != ExitUsage || i1 < 0 || i3 < 0 || i1 > i3 {
		t.Errorf("exit %d, findings not in line order:\n%s", code, errs)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("answers:\n  ip_change: \"no\"\nconfirm: [stop-old]\ndone: [tell-vendor]\nskip:\n  backup-old: \"backed up last night\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "", false, "answers", "check", "--runbook", "greenarrow", good)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "manual steps not listed in done: repository-key,") || !strings.Contains(out, "destructive steps not listed in confirm: remove-old-queue,") {
		t.Errorf("the summary does not name the steps a headless run stops at:\n%s", out)
	}
	for _, listed := range []string{"backup-old", "tell-vendor", "stop-old,"} {
		if strings.Contains(out[strings.Index(out, "a headless run also stops"):], " "+listed) {
			t.Errorf("%s is named although the file skips, marks done or confirms it:\n%s", listed, out)
		}
	}
}
