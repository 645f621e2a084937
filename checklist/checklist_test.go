package checklist

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/ferry-migrate/ferry/wizard"
)

// statusMap is a Statuses backed by a map.
type statusMap map[string]wizard.Status

func (m statusMap) Status(id string) wizard.Status { return m[id] }

func sampleRunbook() *wizard.Runbook {
	return &wizard.Runbook{
		ID:      "sample",
		Title:   "Sample migration",
		Vendor:  "Sample Vendor, Server Migration Guide",
		Summary: "Moves a sample service from one server to another.",
		File:    "builtin:sample",
		Hash:    "0123456789abcdef",
		Phases: []wizard.Phase{
			{ID: "preflight", Title: "Preflight", Help: "Checks that change nothing."},
			{ID: "cutover", Title: "Cutover", Help: "Mail stops here."},
		},
		Steps: []wizard.Step{
			{
				ID: "root", Phase: "preflight", Title: "Running as root", Host: "new", Level: "check",
				Kind: "check-root", Help: "ferry must run as root.\nIt changes system files.",
				Success: &wizard.Check{Text: "The effective user id is 0."},
				Vendor:  "Before you begin",
			},
			{
				ID: "install-ruby", Phase: "preflight", Title: "Install ruby", Host: "new", Level: "auto",
				Kind:   "install-packages",
				Params: map[string]any{"packages": map[string]any{"rhel": []any{"ruby"}, "debian": []any{"ruby", "wget"}}},
				When:   `{{ eq .Answers.ruby "missing" }}`,
			},
			{
				ID: "stop-old", Phase: "cutover", Title: "Stop the service on old", Host: "old", Level: "auto",
				Kind: "command", Destructive: true, Downtime: "start",
				Commands: map[string][]wizard.Command{
					"any": {{Argv: []string{"service", "sample", "stop"}}, {Shell: "echo 'it is `down`' > /tmp/x"}},
				},
				Precondition: &wizard.Check{Text: "The final pass is ready."},
				Ask: []wizard.Question{{Key: "old_ip", Prompt: "Address of the old server", Type: "ip"},
					{Key: "move", Prompt: "Move the IPs?", Type: "choice", Choices: []string{"yes", "no"}, Default: "no", When: "{{ truthy .Answers.ips }}"}},
			},
			{
				ID: "stray", Phase: "later", Title: "A step in an unlisted phase", Host: "new", Level: "manual", Kind: "manual",
			},
		},
	}
}

func TestBuildGroupsAndNumbers(t *testing.T) {
	d, err := Build(sampleRunbook(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Phases) != 3 || d.Phases[2].ID != "later" {
		t.Fatalf("phases = %+v, want preflight, cutover and the unlisted phase last", d.Phases)
	}
	var ids []string
	for i, s := range d.Steps {
		if s.Number != i+1 {
			t.Errorf("step %s numbered %d, want %d", s.ID, s.Number, i+1)
		}
		if s.Status != wizard.StatusPending {
			t.Errorf("step %s status %q without a journal, want pending", s.ID, s.Status)
		}
		ids = append(ids, s.ID)
	}
	if got := strings.Join(ids, ","); got != "root,install-ruby,stop-old,stray" {
		t.Errorf("order %s", got)
	}
	if d.HasState {
		t.Error("HasState without a state")
	}
}

func TestBuildFamilies(t *testing.T) {
	rb := sampleRunbook()
	all, err := Build(rb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The plan differs by family: both variants, each as it will run.
	ruby := all.Steps[1]
	if len(ruby.Commands) != 2 || ruby.Commands["rhel"][1] != "yum install -y ruby  # only when one of them is not installed" ||
		ruby.Commands["debian"][2] != "apt-get install -y ruby wget  # only when one of them is not installed" {
		t.Errorf("both variants expected, got %v", ruby.Commands)
	}
	if a := ruby.Actions["debian"]; len(a) != 3 || !a[0].Probe || a[0].String() != "dpkg-query -W '-f=${Status}' ruby" {
		t.Errorf("the debian plan as data: %+v", a)
	}
	// A step of a kind that runs nothing says what it does in words.
	if c := all.Steps[3].Commands["any"]; len(c) != 1 || !strings.HasPrefix(c[0], "# nothing runs") {
		t.Errorf("manual step: %q", c)
	}
	deb, err := Build(rb, Options{Family: "debian"})
	if err != nil {
		t.Fatal(err)
	}
	if c := deb.Steps[1].Commands; len(c) != 1 || c["debian"] == nil {
		t.Errorf("--family debian: got %v", c)
	}
	// A step with one list for every family shows it under the family asked.
	if c := deb.Steps[2].Commands["debian"]; len(c) != 2 || c[1] != "echo 'it is `down`' > /tmp/x" {
		t.Errorf("any-family commands under debian: %v", deb.Steps[2].Commands)
	}
	if _, err := Build(rb, Options{Family: "suse"}); err == nil || !strings.Contains(err.Error(), `"suse"`) {
		t.Errorf("unknown family: err = %v, want one naming \"suse\"", err)
	}
}

func TestFenceFor(t *testing.T) {
	for in, want := range map[string]string{"ls": "```", "a `b` c": "```", "x ``` y": "````", "````": "`````"} {
		if got := fenceFor(in); got != want {
			t.Errorf("fenceFor(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCommandLineQuotes(t *testing.T) {
	rb := sampleRunbook()
	rb.Steps[2].Commands = map[string][]wizard.Command{"any": {{Argv: []string{"rsync", "-a", "/var/my dir/", "old:/x'y"}}}}
	d, err := Build(rb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := `rsync -a '/var/my dir/' 'old:/x'"'"'y'`
	if got := d.Steps[2].Commands["any"]; len(got) != 1 || got[0] != want {
		t.Errorf("command line = %q, want %s", got, want)
	}
}

func TestControlSequencesStripped(t *testing.T) {
	rb := sampleRunbook()
	rb.Steps[0].Title = "Root\x1b[2J\x1b]0;pwned\x07 check"
	rb.Steps[0].Help = "line one\x1b[31m red\x1b[0m\r\nline two\x00"
	d, err := Build(rb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Steps[0].Title != "Root check" {
		t.Errorf("title %q", d.Steps[0].Title)
	}
	if d.Steps[0].Help != "line one red\nline two" {
		t.Errorf("help %q", d.Steps[0].Help)
	}
}

// TestPlaceholdersAndKnownValues: a value not known shows as ‹name›; the
// answers and facts of a migration under way fill it.
func TestPlaceholdersAndKnownValues(t *testing.T) {
	rb := sampleRunbook()
	rb.Steps[2].Commands = map[string][]wizard.Command{"any": {{Argv: []string{"ping", "-c1", "{{.Answers.old_ip}}"}}}}
	d, err := Build(rb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Steps[2].Commands["any"][0]; got != "ping -c1 '‹old_ip›'" {
		t.Errorf("before the answer: %q", got)
	}
	st := wizard.Replay([]wizard.Event{{Type: wizard.EvAnswered, Step: "stop-old", Answers: map[string]string{"old_ip": "192.0.2.7"}},
		{Type: wizard.EvFact, Step: "root", Facts: map[string]string{"new_family": "debian"}}})
	d, err = Build(rb, Options{State: st})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Steps[2].Commands["any"][0]; got != "ping -c1 192.0.2.7" {
		t.Errorf("with the answer given: %q", got)
	}
	// The new server's family is known: its steps show that family's plan.
	if c := d.Steps[1].Commands; len(c) != 1 || c["debian"] == nil {
		t.Errorf("install step with the family known: %v", c)
	}
}

func TestWhenText(t *testing.T) {
	cases := map[string]string{
		"":                                         "",
		`{{ eq .Answers.ruby "missing" }}`:         `only when the answer ruby is "missing"`,
		`{{ne .Facts.arch "x86_64"}}`:              `only when the fact arch is not "x86_64"`,
		`{{ eq "yes" .Answers.ip_change }}`:        `only when the answer ip_change is "yes"`,
		`{{ eq .Family "debian" }}`:                "only on the Debian family",
		`{{ ne .Family "rhel" }}`:                  "not on the RHEL family",
		`{{ truthy .Answers.ips }}`:                "only when the answer ips is yes",
		`{{ not (truthy .Answers.ips) }}`:          "only when the answer ips is not yes",
		`{{ .Answers.port }}`:                      "only when the answer port is set",
		`{{ not .Answers.port }}`:                  "only when the answer port is empty",
		`{{ and (truthy .Answers.a) .Answers.b }}`: `only when: {{ and (truthy .Answers.a) .Answers.b }}`,
		`true`: "only when: true",
		`{{not (or .Facts.old_addr .Answers.old_addr)}}`: "only when neither the old server's address from --old nor the answer old_addr is set",
		`{{ne .Facts.resolv_link ""}}`:                   "only when the link target of /etc/resolv.conf is known",
	}
	for in, want := range cases {
		if got := WhenText(in); got != want {
			t.Errorf("WhenText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMarkdownTicksDoneSteps: [x] only for a passed step, [-] for a skipped
// one, and the count keeps them apart.
func TestMarkdownTicksDoneSteps(t *testing.T) {
	st := statusMap{"root": wizard.StatusOK, "install-ruby": wizard.StatusSkipped, "stop-old": wizard.StatusFailed}
	d, err := Build(sampleRunbook(), Options{State: st, StateDir: "/var/lib/ferry"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Markdown(&b, d); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"- [x] **1. Running as root**",
		"- [-] **2. Install ruby**", // skipped is not done

		"- [ ] **3. Stop the service on old** ⚠ ⏱",
		"- [ ] **4. A step in an unlisted phase**",
		"status: ✗ failed",
		"1 of 4 done, 1 skipped",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	golden.RequireEqual(t, out)
}

func TestMarkdownWithoutState(t *testing.T) {
	d, err := Build(sampleRunbook(), Options{Family: "rhel"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Markdown(&b, d); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "status:") || strings.Contains(out, "- [x]") {
		t.Errorf("status shown without a journal:\n%s", out)
	}
	if strings.Contains(out, "apt-get") || !strings.Contains(out, "yum install -y ruby") {
		t.Errorf("--family rhel should show only the RHEL command:\n%s", out)
	}
	// The shell line holds backticks: its fence must be longer.
	if !strings.Contains(out, "```sh\n    service sample stop\n    echo 'it is `down`' > /tmp/x\n    ```\n") {
		t.Errorf("commands block wrong:\n%s", out)
	}
	golden.RequireEqual(t, out)
}

func TestJSON(t *testing.T) {
	st := statusMap{"root": wizard.StatusOK}
	d, err := Build(sampleRunbook(), Options{State: st, StateDir: "/s"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := JSON(&b, d); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Runbook string `json:"runbook"`
		Steps   []struct {
			ID       string              `json:"id"`
			Phase    string              `json:"phase"`
			Status   string              `json:"status"`
			Commands map[string][]string `json:"commands"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("not valid JSON: %v\n%s", err, b.String())
	}
	if got.Runbook != "sample" || len(got.Steps) != 4 {
		t.Fatalf("got %+v", got)
	}
	if s := got.Steps[0]; s.ID != "root" || s.Phase != "preflight" || s.Status != "ok" {
		t.Errorf("first step %+v", s)
	}
	if s := got.Steps[1]; s.Status != "pending" || s.Commands["debian"][2] != "apt-get install -y ruby wget  # only when one of them is not installed" {
		t.Errorf("second step %+v", s)
	}
	if s := got.Steps[3]; s.Commands == nil {
		t.Errorf("a step with no commands should still have a commands object: %+v", s)
	}
}

// TestAskedWhen decides for conditions of the kinds the runbooks use whether
// a question is asked, never asked, or asked depending on what is not known
// yet, and checks no answer carries template code.
func TestAskedWhen(t *testing.T) {
	params := map[string]any{"new_pg_os_user": "postgres", "empty": ""}
	cases := []struct {
		when           string
		answers, facts map[string]string
		family         string
		want           string
		notAsked       bool
	}{
		{when: "", want: ""},
		{when: `{{if .Params.new_pg_os_user}}false{{else}}true{{end}}`, want: notAskedText, notAsked: true},
		{when: `{{if .Params.empty}}false{{else}}true{{end}}`, want: ""},
		{when: `{{not .Facts.old_addr}}`, want: "asked only when needed (when the old server's address from --old is not known)"},
		{when: `{{not .Facts.old_addr}}`, facts: map[string]string{"old_addr": "192.0.2.1"}, want: notAskedText, notAsked: true},
		{when: `{{not .Facts.old_addr}}`, facts: map[string]string{"old_addr": ""}, want: ""},
		{when: `{{not (or .Facts.old_addr .Answers.old_addr)}}`, answers: map[string]string{"old_addr": "old.example.org"}, want: notAskedText, notAsked: true},
		{when: `{{not (or .Facts.old_addr .Answers.old_addr)}}`, want: "asked only when needed (when neither the old server's address from --old nor the answer old_addr is set)"},
		{when: `{{ne .Facts.dns_cache "yes"}}`, want: `asked only when needed (when GreenArrow's dns_cache_service_run setting is not "yes")`},
		{when: `{{ eq .Answers.ruby "missing" }}`, want: `asked only when needed (when the answer ruby is "missing")`},
		{when: `{{ eq .Family "debian" }}`, family: "rhel", want: notAskedText, notAsked: true},
		{when: `{{ and (truthy .Answers.a) (eq .Facts.b "x") }}`, want: "asked only when needed (it depends on the answer a and the fact b, not known yet)"},
		{when: `{{ and (truthy .Answers.a) (eq .Facts.b "x") }}`, facts: map[string]string{"b": "y"}, want: notAskedText, notAsked: true},
		{when: `{{ and .Params.new_pg_os_user (eq .Facts.b "x") }}`, want: `asked only when needed (it depends on the fact b, not known yet)`},
	}
	for _, c := range cases {
		got, notAsked := askedWhen(c.when, wizard.TemplateData{Params: params, Answers: c.answers, Facts: c.facts, Family: c.family})
		if got != c.want || notAsked != c.notAsked {
			t.Errorf("askedWhen(%q, answers %v, facts %v) = %q, %v; want %q, %v", c.when, c.answers, c.facts, got, notAsked, c.want, c.notAsked)
		}
		if strings.Contains(got, "{{") || strings.Contains(got, ".Facts") {
			t.Errorf("askedWhen(%q) shows template code: %q", c.when, got)
		}
	}
}

// TestRunbookQuestionsShowNoTemplateCode builds both runbooks' checklists,
// without a journal and with one that knows the old server's address: no
// question shows template code, BlueMind's new_pg_password is not asked with
// the runbook's settings (a local OS user), and old_addr is asked only when
// needed until the journal knows it.
func TestRunbookQuestionsShowNoTemplateCode(t *testing.T) {
	for _, name := range []string{"greenarrow", "bluemind"} {
		rb, err := wizard.LoadRunbook(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []*wizard.State{nil, {Answers: map[string]string{"old_addr": "192.0.2.7"}, Facts: map[string]string{"old_addr": "192.0.2.7"}}} {
			opts := Options{}
			if st != nil {
				opts.State = st
			}
			d, err := Build(rb, opts)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := Markdown(&b, d); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), "only when: {{") || strings.Contains(b.String(), "{{if") {
				t.Errorf("%s (journal %v): template code in the checklist", name, st != nil)
			}
			for _, s := range d.Steps {
				for _, q := range s.Questions {
					switch {
					case q.Key == "new_pg_password" && (!q.NotAsked || q.WhenText != notAskedText):
						t.Errorf("%s/%s: new_pg_password %+v, want not asked", name, s.ID, q)
					case q.Key == "old_addr" && st == nil && !strings.HasPrefix(q.WhenText, "asked only when needed ("):
						t.Errorf("%s/%s: old_addr %+v, want asked only when needed", name, s.ID, q)
					case q.Key == "old_addr" && st != nil && !q.NotAsked:
						t.Errorf("%s/%s: old_addr %+v with the address known, want not asked", name, s.ID, q)
					}
				}
			}
		}
	}
}
