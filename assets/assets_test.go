package assets_test

import (
	"bytes"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ferry-migrate/ferry/assets"
	"github.com/ferry-migrate/ferry/wizard"
)

func TestNames(t *testing.T) {
	want := []string{"bluemind", "greenarrow"}
	if got := assets.Names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Names() = %q, want %q", got, want)
	}
}

func TestRunbookUnknownNameListsKnownOnes(t *testing.T) {
	for _, name := range []string{"zimbra", "", "../assets/greenarrow", "greenarrow.yaml"} {
		_, err := assets.Runbook(name)
		if err == nil {
			t.Errorf("Runbook(%q): no error", name)
			continue
		}
		msg := err.Error()
		for _, s := range []string{`"` + name + `"`, "bluemind", "greenarrow"} {
			if !strings.Contains(msg, s) {
				t.Errorf("Runbook(%q) error %q does not mention %s", name, msg, s)
			}
		}
	}
	data, err := assets.Runbook("greenarrow")
	if err != nil || !bytes.HasPrefix(bytes.TrimLeft(data, "# "), []byte("GreenArrow")) {
		t.Fatalf("Runbook(greenarrow) = %.40q, %v", data, err)
	}
}

// load parses a built-in runbook with the project's loader, which validates
// kinds, parameters, templates and destructive guards.
func load(t *testing.T, name string) *wizard.Runbook {
	t.Helper()
	data, err := assets.Runbook(name)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := wizard.Parse("builtin:"+name, data)
	if err != nil {
		t.Fatalf("wizard.Parse: %v", err)
	}
	return rb
}

func TestRunbooksLoad(t *testing.T) {
	for _, name := range assets.Names() {
		t.Run(name, func(t *testing.T) {
			rb := load(t, name)
			if rb.ID != name {
				t.Errorf("id %q, want %q (the file name)", rb.ID, name)
			}
			if _, err := wizard.LoadRunbook(name); err != nil {
				t.Errorf("LoadRunbook(%q): %v", name, err)
			}
		})
	}
}

// TestPlainYAML checks the files as YAML alone, independently of the loader:
// strict decoding into the schema, and unique step ids.
func TestPlainYAML(t *testing.T) {
	for _, name := range assets.Names() {
		t.Run(name, func(t *testing.T) {
			data, _ := assets.Runbook(name)
			var generic map[string]any
			if err := yaml.Unmarshal(data, &generic); err != nil {
				t.Fatalf("not YAML: %v", err)
			}
			dec := yaml.NewDecoder(bytes.NewReader(data))
			dec.KnownFields(true)
			var rb wizard.Runbook
			if err := dec.Decode(&rb); err != nil {
				t.Fatalf("does not fit the schema: %v", err)
			}
			seen := map[string]bool{}
			for _, s := range rb.Steps {
				if seen[s.ID] {
					t.Errorf("step id %q used twice", s.ID)
				}
				seen[s.ID] = true
			}
			if len(seen) < 10 {
				t.Errorf("only %d steps", len(seen))
			}
		})
	}
}

var (
	sentenceEnd = regexp.MustCompile(`[.!?]["”)]?(\s+|$)`)
	kebab       = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

// TestStepRules checks the rules every step of a built-in runbook follows
// beyond what the loader enforces.
func TestStepRules(t *testing.T) {
	for _, name := range assets.Names() {
		t.Run(name, func(t *testing.T) {
			rb := load(t, name)
			for _, p := range rb.Phases {
				if strings.TrimSpace(p.Help) == "" {
					t.Errorf("phase %s has no help", p.ID)
				}
			}
			for _, s := range rb.Steps {
				if !kebab.MatchString(s.ID) {
					t.Errorf("step id %q is not kebab-case", s.ID)
				}
				if n := len(sentenceEnd.FindAllString(strings.TrimSpace(s.Help), -1)); n < 2 || n > 5 {
					t.Errorf("step %s: help has %d sentences, want 2 to 5", s.ID, n)
				}
				if strings.Contains(s.Help, "{{") {
					t.Errorf("step %s: help holds a template; help is shown as written", s.ID)
				}
				if s.Success == nil && s.Level != wizard.LevelManual && s.Kind != "record" {
					t.Errorf("step %s: no success sentence", s.ID)
				}
				if s.Destructive && s.Precondition == nil {
					t.Errorf("step %s: destructive without a precondition", s.ID)
				}
				if s.Kind != "command" && len(s.Commands) > 0 {
					t.Errorf("step %s: a commands list on a %s step (only command steps have one; the others show their plan)", s.ID, s.Kind)
				}
				for _, q := range s.Ask {
					if strings.TrimSpace(q.Prompt) == "" {
						t.Errorf("step %s: question %s has no prompt", s.ID, q.Key)
					}
				}
				// Anything that deletes data or stops a service needs typed
				// confirmation.
				for _, fam := range []string{wizard.FamilyRHEL, wizard.FamilyDebian} {
					acts, err := wizard.Plan(&s, sample(rb, fam, typical))
					if err != nil {
						t.Errorf("step %s: %v", s.ID, err)
					}
					if len(acts) == 0 {
						t.Errorf("step %s: nothing to show", s.ID)
					}
					for _, a := range acts {
						if a.Command() == nil {
							continue
						}
						line := actionLine(a)
						// A rehearsal's drop of its own scratch databases
						// (named with the runbook's rehearsal_prefix) deletes
						// nothing of the admin's.
						scratch := strings.Contains(line, " dropdb ") && strings.HasSuffix(line, " "+rehearsalDB(rb, line))
						if (strings.Contains(line, "rm -") || strings.Contains(line, " stop") ||
							strings.Contains(line, " -delete") || (strings.Contains(line, " dropdb ") && !scratch)) && !s.Destructive {
							t.Errorf("step %s runs %q but is not destructive", s.ID, line)
						}
					}
				}
			}
		})
	}
}

// actionLine is a planned action as one line: argv words joined by spaces
// (no quoting, so that tests can look for the vendor's text), the shell
// line, or what ferry does itself in words.
func actionLine(a wizard.PlanAction) string {
	switch {
	case a.Shell != "":
		return a.Shell
	case len(a.Argv) > 0:
		return strings.Join(a.Argv, " ")
	}
	return a.Does
}

// sample is template data with the answers and facts of a typical run.
func sample(rb *wizard.Runbook, family string, answers map[string]string) wizard.TemplateData {
	d := wizard.SampleData(rb)
	d.Family = family
	d.Facts["family"] = family
	d.Facts["old_family"], d.Facts["new_family"] = family, family
	for k, v := range answers {
		d.Answers[k] = v
	}
	return d
}

var typical = map[string]string{
	"old_addr": "192.0.2.10", "ssh_port": "2222", "ip_change": "yes", "backup_dir": "/root/ga-backup",
	"resolvers": "9.9.9.9", "test_address": "admin@example.org", "precopy_cyrus": "yes",
}

// rendered returns, per step, its plan for a family (actionLine), and the
// whole runbook's plan as one text.
func rendered(t *testing.T, rb *wizard.Runbook, family string) (map[string][]string, string) {
	t.Helper()
	data := sample(rb, family, typical)
	per := map[string][]string{}
	var all strings.Builder
	for i := range rb.Steps {
		s := &rb.Steps[i]
		acts, err := wizard.Plan(s, data)
		if err != nil {
			t.Fatalf("step %s: %v", s.ID, err)
		}
		for _, a := range acts {
			line := actionLine(a)
			per[s.ID] = append(per[s.ID], line)
			all.WriteString(line + "\n")
		}
	}
	return per, all.String()
}

// per returns the rendered commands of each step for the Debian family.
func per(t *testing.T, rb *wizard.Runbook) map[string][]string {
	t.Helper()
	p, _ := rendered(t, rb, wizard.FamilyDebian)
	return p
}

// resolved returns a step's task parameters with templates resolved.
func resolved(t *testing.T, rb *wizard.Runbook, s *wizard.Step, params map[string]any) map[string]any {
	t.Helper()
	out, err := wizard.Resolve(params, sample(rb, wizard.FamilyRHEL, typical))
	if err != nil {
		t.Fatalf("step %s: %v", s.ID, err)
	}
	if out == nil {
		return nil
	}
	return out.(map[string]any)
}

func TestTemplatesRenderForEveryFamily(t *testing.T) {
	for _, name := range assets.Names() {
		rb := load(t, name)
		for _, fam := range []string{wizard.FamilyRHEL, wizard.FamilyDebian} {
			per, all := rendered(t, rb, fam)
			if strings.Contains(all, "<no value>") || strings.Contains(all, "{{") {
				t.Errorf("%s/%s: a command did not render:\n%s", name, fam, all)
			}
			if strings.Contains(all, "root@:") || strings.Contains(all, "root@ ") {
				t.Errorf("%s/%s: a command lost the old server's address:\n%s", name, fam, all)
			}
			_ = per
		}
		for _, s := range rb.Steps {
			for _, answers := range []map[string]string{typical, {"ip_change": "no", "precopy_cyrus": "no"}} {
				d := sample(rb, wizard.FamilyRHEL, answers)
				for _, w := range append([]string{s.When}, whens(s)...) {
					if w == "" {
						continue
					}
					out, err := wizard.Render(w, d)
					if err != nil || (out != "true" && out != "false") {
						t.Errorf("%s: step %s: when %q renders %q, %v", name, s.ID, w, out, err)
					}
				}
			}
			for _, p := range []map[string]any{s.Params, checkParams(s.Precondition), checkParams(s.Success)} {
				for k, v := range resolved(t, rb, &s, p) {
					if str, ok := v.(string); ok && (str == "" || strings.Contains(str, "[")) {
						t.Errorf("%s: step %s: parameter %s resolves to %q", name, s.ID, k, str)
					}
				}
			}
		}
	}
}

func whens(s wizard.Step) []string {
	var out []string
	for _, q := range s.Ask {
		out = append(out, q.When)
	}
	return out
}

func checkParams(c *wizard.Check) map[string]any {
	if c == nil {
		return nil
	}
	return c.Params
}

// want is one acceptance item: a text that must appear in the commands of a
// runbook (rendered for family, with the old server at 192.0.2.10), or, with
// anywhere, in the file itself.
type want struct {
	text     string
	family   string // "" = both families
	anywhere bool
}

func checkWants(t *testing.T, name string, wants []want) {
	t.Helper()
	rb := load(t, name)
	raw, _ := assets.Runbook(name)
	_, rhel := rendered(t, rb, wizard.FamilyRHEL)
	_, debian := rendered(t, rb, wizard.FamilyDebian)
	for _, w := range wants {
		if w.anywhere {
			if !strings.Contains(string(raw), w.text) {
				t.Errorf("%s.yaml does not mention %q", name, w.text)
			}
			continue
		}
		if (w.family == "" || w.family == "rhel") && !strings.Contains(rhel, w.text) {
			t.Errorf("%s: no rhel command has %q", name, w.text)
		}
		if (w.family == "" || w.family == "debian") && !strings.Contains(debian, w.text) {
			t.Errorf("%s: no debian command has %q", name, w.text)
		}
	}
}

// stepWant pins down the properties of one step.
type stepWant struct {
	id, phase, host, level, kind string
	destructive, repeatable      bool
	downtime                     string
	when                         bool // has a when condition
	precondKind                  string
}

func checkSteps(t *testing.T, rb *wizard.Runbook, order []string, wants []stepWant) {
	t.Helper()
	var ids []string
	for _, s := range rb.Steps {
		ids = append(ids, s.ID)
	}
	if !reflect.DeepEqual(ids, order) {
		t.Errorf("%s steps are\n%q\nwant\n%q", rb.ID, ids, order)
	}
	for _, w := range wants {
		s := rb.Step(w.id)
		if s == nil {
			t.Errorf("no step %s", w.id)
			continue
		}
		got := stepWant{id: s.ID, phase: s.Phase, host: s.Host, level: s.Level, kind: s.Kind,
			destructive: s.Destructive, repeatable: s.Repeatable, downtime: s.Downtime, when: s.When != ""}
		if s.Precondition != nil {
			got.precondKind = s.Precondition.Kind
		}
		if w.precondKind == "" {
			got.precondKind = ""
		}
		if got != w {
			t.Errorf("step %s is\n%+v\nwant\n%+v", w.id, got, w)
		}
	}
}

var greenarrowOrder = []string{
	"check-root", "ssh-old", "engine-version", "studio-layout", "same-platform", "postgres-version",
	"disk-space", "upgrade-blocker-old",
	"ip-change", "install-tools", "hosts-oldserver", "ssh-config", "backup-old", "backup-files-present",
	"copy-backup-files", "tablespaces", "repository-key", "install-prerequisites", "reinstall-packages",
	"load-profile",
	"migration-first-pass",
	"stop-old", "migration-final-pass", "tablespaces-final", "move-ips", "merge-queue", "queue-empty",
	"remove-old-queue", "start-new",
	"dns-resolvers", "other-nameservers", "upgrade-blocker-new", "performance-tuning", "new-ips", "other-changes",
	"check-config", "services-status", "test-message", "test-message-arrived", "remove-hosts-entry",
	"remove-licences", "delete-old-queue", "tell-vendor",
}

func TestGreenArrowSteps(t *testing.T) {
	rb := load(t, "greenarrow")
	var phases []string
	for _, p := range rb.Phases {
		phases = append(phases, p.ID)
	}
	if want := []string{"preflight", "prepare", "hot-sync", "cutover", "configure", "final-test", "decommission"}; !reflect.DeepEqual(phases, want) {
		t.Errorf("phases %q, want %q", phases, want)
	}
	checkSteps(t, rb, greenarrowOrder, []stepWant{
		{id: "check-root", phase: "preflight", host: "new", level: "check", kind: "check-root"},
		{id: "ssh-old", phase: "preflight", host: "old", level: "check", kind: "ssh-connect"},
		{id: "engine-version", phase: "preflight", host: "old", level: "check", kind: "package-version"},
		{id: "studio-layout", phase: "preflight", host: "old", level: "check", kind: "path-absent"},
		{id: "same-platform", phase: "preflight", host: "new", level: "check", kind: "same-platform"},
		{id: "postgres-version", phase: "preflight", host: "old", level: "check", kind: "pg-version"},
		{id: "disk-space", phase: "preflight", host: "new", level: "check", kind: "disk-space"},
		{id: "upgrade-blocker-old", phase: "preflight", host: "old", level: "check", kind: "path-absent"},
		{id: "ip-change", phase: "prepare", host: "new", level: "ask", kind: "record"},
		{id: "install-tools", phase: "prepare", host: "new", level: "auto", kind: "install-packages"},
		{id: "hosts-oldserver", phase: "prepare", host: "new", level: "ask", kind: "hosts-entry"},
		{id: "ssh-config", phase: "prepare", host: "new", level: "ask", kind: "ssh-config"},
		{id: "backup-old", phase: "prepare", host: "old", level: "manual", kind: "manual"},
		{id: "backup-files-present", phase: "prepare", host: "old", level: "ask", kind: "files-present"},
		{id: "repository-key", phase: "prepare", host: "new", level: "manual", kind: "manual"},
		{id: "install-prerequisites", phase: "prepare", host: "new", level: "manual", kind: "manual"},
		{id: "migration-first-pass", phase: "hot-sync", host: "new", level: "auto", kind: "command", repeatable: true},
		{id: "stop-old", phase: "cutover", host: "old", level: "auto", kind: "command", destructive: true, downtime: "start", precondKind: "ssh-connect"},
		{id: "move-ips", phase: "cutover", host: "new", level: "manual", kind: "manual", when: true},
		{id: "queue-empty", phase: "cutover", host: "new", level: "check", kind: "count-files"},
		{id: "remove-old-queue", phase: "cutover", host: "new", level: "auto", kind: "remove-dir", destructive: true, precondKind: "count-files"},
		{id: "start-new", phase: "cutover", host: "new", level: "auto", kind: "command", downtime: "end"},
		{id: "other-nameservers", phase: "configure", host: "new", level: "check", kind: "command"},
		{id: "upgrade-blocker-new", phase: "configure", host: "new", level: "check", kind: "path-absent"},
		{id: "new-ips", phase: "configure", host: "new", level: "manual", kind: "manual", when: true},
		{id: "services-status", phase: "final-test", host: "new", level: "auto", kind: "service-status"},
		{id: "test-message", phase: "final-test", host: "new", level: "ask", kind: "command"},
		{id: "remove-hosts-entry", phase: "final-test", host: "new", level: "auto", kind: "hosts-entry"},
		{id: "remove-licences", phase: "decommission", host: "old", level: "auto", kind: "remove-files", destructive: true},
		{id: "delete-old-queue", phase: "decommission", host: "old", level: "auto", kind: "delete-files", destructive: true},
		{id: "tell-vendor", phase: "decommission", host: "new", level: "manual", kind: "manual"},
	})

	// The queue directory goes only while no message is left in it.
	rq := rb.Step("remove-old-queue")
	pre := resolved(t, rb, rq, rq.Precondition.Params)
	if pre["dir"] != "/var/hvmail/qmail-disk/queue/old/mess" || pre["expect"] != 0 {
		t.Errorf("remove-old-queue precondition %v, want a count of 0 in queue/old/mess", pre)
	}
	// The final pass succeeds only on the script's all-clear line.
	fp := rb.Step("migration-final-pass")
	if got := resolved(t, rb, fp, fp.Params)["expect_last_line"]; got != "No errors were detected." {
		t.Errorf("final pass expects last line %q", got)
	}
	if fp.Repeatable || fp.Destructive || !fp.SafeToRerun {
		t.Errorf("final pass: repeatable %v destructive %v safe %v", fp.Repeatable, fp.Destructive, fp.SafeToRerun)
	}
	// Vendor thresholds are data, resolved into lists where lists are due.
	params := map[string]any{}
	for _, id := range []string{"engine-version", "postgres-version", "copy-backup-files", "load-profile",
		"remove-licences", "delete-old-queue", "services-status", "install-tools"} {
		s := rb.Step(id)
		for k, v := range resolved(t, rb, s, s.Params) {
			params[id+"."+k] = v
		}
	}
	for key, want := range map[string]any{
		"engine-version.min":               "4.1.165-0",
		"engine-version.packages":          []any{"greenarrow-engine", "greenarrow"},
		"postgres-version.link":            "/var/hvmail/postgres/default",
		"postgres-version.blocked_version": "8.3",
		"postgres-version.blocked_targets": []any{"ubuntu:16.04", "ubuntu:18.04", "debian:9"},
		"copy-backup-files.items": []any{"greenarrow-packages.txt", "greenarrow-repository-access-key.txt",
			"hvmail_reinstall_packages", "postgresql-tablespaces.txt"},
		"copy-backup-files.to_dir":   "/var/migrate",
		"copy-backup-files.from_dir": "/root/ga-backup",
		"load-profile.scripts": []any{"/etc/profile.d/greenarrow-engine.sh", "/etc/profile.d/greenarrow-ruby.sh",
			"/etc/profile.d/greenarrow-studio.sh", "/etc/profile.d/greenarrow-passenger.sh"},
		"remove-licences.paths":        []any{"/var/hvmail/control/license_key", "/var/hvmail/control/bounce.boogie_studio_api_license_key"},
		"services-status.allowed_down": []any{"hvmail-qmail-smtpd3"},
		"install-tools.packages":       map[string]any{"rhel": []any{"ruby"}, "debian": []any{"ruby", "wget"}},
		"delete-old-queue.dirs": []any{"/var/hvmail/qmail-ram/savedqueue", "/var/hvmail/qmail-bounce/savedqueue",
			"/var/hvmail/qmail-disk/queue/info", "/var/hvmail/qmail-disk/queue/mess", "/var/hvmail/qmail-disk/queue/remote",
			"/var/hvmail/qmail-disk/queue/intd", "/var/hvmail/qmail-disk/queue/local", "/var/hvmail/qmail-disk/queue/todo",
			"/var/hvmail/qmail-disk/queue/bounce"},
	} {
		if !reflect.DeepEqual(params[key], want) {
			t.Errorf("%s = %#v, want %#v", key, params[key], want)
		}
	}
	// IP steps apply only when IPs change; the resolver question only when
	// GreenArrow's DNS cache is off.
	for answer, want := range map[string]string{"yes": "true", "no": "false", "": "false"} {
		d := sample(rb, "rhel", map[string]string{"ip_change": answer})
		for _, id := range []string{"move-ips", "new-ips"} {
			if got, _ := wizard.Render(rb.Step(id).When, d); got != want {
				t.Errorf("%s when ip_change=%q: %q, want %q", id, answer, got, want)
			}
		}
	}
	q := rb.Step("dns-resolvers").Ask[0]
	for cache, want := range map[string]string{"yes": "false", "no": "true"} {
		d := sample(rb, "rhel", nil)
		d.Facts["dns_cache"] = cache
		if got, _ := wizard.Render(q.When, d); q.Key != "resolvers" || q.Type != "ips" || got != want {
			t.Errorf("question %s (%s) when dns_cache=%s: %q, want %q", q.Key, q.Type, cache, got, want)
		}
	}
	// The address is asked only when --old did not give it.
	ask := rb.Step("ssh-old").Ask[0]
	d := sample(rb, "rhel", nil)
	if got, _ := wizard.Render(ask.When, d); ask.Key != "old_addr" || got != "false" {
		t.Errorf("old_addr asked although known: %q", got)
	}
	d.Facts["old_addr"] = ""
	if got, _ := wizard.Render(ask.When, d); got != "true" {
		t.Errorf("old_addr not asked although unknown: %q", got)
	}
}

func TestGreenArrowAcceptance(t *testing.T) {
	// The vendor's facts as the plans show them: what ferry runs (or, for
	// its own work, says it does), rendered with the old server at
	// 192.0.2.10, backups in /root/ga-backup and resolver 9.9.9.9.
	checkWants(t, "greenarrow", []want{
		{text: "4.1.165-0", anywhere: true},
		{text: `rpm -q --qf %{NAME}\t%{EPOCH}\t%{VERSION}-%{RELEASE}\t%{ARCH}\n greenarrow-engine`},
		{text: `dpkg-query -W -f ${Status}\t${Version}\t${Architecture}\n greenarrow-engine`},
		{text: "/var/sendstudio"},
		{text: "read where /var/hvmail/postgres/default points"},
		{text: "Ubuntu 16.04, Ubuntu 18.04 or Debian 9", anywhere: true},
		{text: "read /etc/os-release"},
		{text: "uname -m"},
		{text: "du -sk /var/hvmail"},
		{text: "check that /var/hvmail/control/UPGRADE_BLOCKER.txt does not exist; if it does, show its content"},
		{text: "feedback loop", anywhere: true},
		{text: "yum install -y ruby", family: "rhel"},
		{text: "apt-get install -y ruby wget", family: "debian"},
		{text: `add the line "192.0.2.10 oldserver" to /etc/hosts`},
		{text: "Host oldserver block of /root/.ssh/config"},
		{text: "ssh -F /root/.ssh/config -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=15 oldserver true"},
		{text: "root@192.0.2.10:/root/ga-backup/./greenarrow-packages.txt :/root/ga-backup/./greenarrow-repository-access-key.txt :/root/ga-backup/./hvmail_reinstall_packages :/root/ga-backup/./postgresql-tablespaces.txt /var/migrate/"},
		{text: "read /var/migrate/postgresql-tablespaces.txt"},
		{text: "mkdir -p ‹its location›"},
		{text: "--delete --max-delete=‹deletion limit: 1000, a tenth of the tree from 100 on, or the count you confirm› --info=del1 --partial --no-inc-recursive --info=progress2 --stats -s -e"},
		{text: "show /var/migrate/greenarrow-repository-access-key.txt on screen"},
		{text: "Installation Guide", anywhere: true},
		{text: "/var/migrate/hvmail_reinstall_packages /var/migrate/greenarrow-packages.txt"},
		{text: ". /etc/profile.d/greenarrow-engine.sh"},
		{text: ". /etc/profile.d/greenarrow-ruby.sh"},
		{text: ". /etc/profile.d/greenarrow-studio.sh"},
		{text: ". /etc/profile.d/greenarrow-passenger.sh"},
		{text: "/var/hvmail/libexec/hvmail_server_migration --no-exit-on-error"},
		{text: "/var/hvmail/libexec/hvmail_server_migration\n"},
		{text: "No errors were detected.", anywhere: true},
		{text: "service greenarrow stop"},
		{text: "chkconfig greenarrow off", family: "rhel"},
		{text: "update-rc.d greenarrow disable", family: "debian"},
		{text: "find /var/hvmail/qmail-disk/queue/old/mess -mindepth 2 -type f -print0"},
		{text: "/var/hvmail/libexec/hvmail_queue_merge /var/hvmail/qmail-disk/queue/old /var/hvmail/qmail-disk/queue"},
		{text: "count the files under /var/hvmail/qmail-disk/queue/old/mess"},
		{text: "rm -rf --one-file-system /var/hvmail/qmail-disk/queue/old"},
		{text: "if [ -e /usr/bin/systemctl ]; then systemctl start greenarrow.service; else service greenarrow start; fi", family: "rhel"},
		{text: "chkconfig greenarrow on", family: "rhel"},
		{text: "service greenarrow start", family: "debian"},
		{text: "update-rc.d greenarrow defaults", family: "debian"},
		{text: "sed -i s/^deb /#deb / /etc/apt/sources.list.d/greenarrow.list", family: "debian"},
		{text: "read dns_cache_service_run in /var/hvmail/control/greenarrow.conf"},
		{text: "nameserver 127.0.0.1", anywhere: true},
		{text: "8.8.8.8", anywhere: true},
		{text: "8.8.4.4", anywhere: true},
		{text: "1.1.1.1", anywhere: true},
		{text: "write /etc/resolv.conf with nameserver 9.9.9.9"},
		{text: "find /etc/sysconfig/network-scripts/ifcfg-* /etc/sysconfig/network -type f | xargs grep 'DNS=' | grep -v 'PEERDNS=' | grep -v 127.0.0.1", family: "rhel"},
		{text: "grep dns-nameservers /etc/network/interfaces", family: "debian"},
		{text: "hvmail_check_config"},
		{text: "service greenarrow status"},
		{text: "hvmail-qmail-smtpd3", anywhere: true},
		{text: `date | /var/hvmail/bin/mailsubj "GreenArrow Test Message" "$1" sh admin@example.org`},
		{text: "remove the line ferry added for oldserver from /etc/hosts"},
		{text: "rm -f /var/hvmail/control/license_key"},
		{text: "rm -f /var/hvmail/control/bounce.boogie_studio_api_license_key"},
		{text: "find /var/hvmail/qmail-ram/savedqueue -type f -delete"},
		{text: "find /var/hvmail/qmail-bounce/savedqueue -type f -delete"},
		{text: "find /var/hvmail/qmail-disk/queue/info -type f -delete"},
		{text: "find /var/hvmail/qmail-disk/queue/mess -type f -delete"},
		{text: "find /var/hvmail/qmail-disk/queue/remote -type f -delete"},
		{text: "find /var/hvmail/qmail-disk/queue/intd -type f -delete"},
		{text: "find /var/hvmail/qmail-disk/queue/local -type f -delete"},
		{text: "find /var/hvmail/qmail-disk/queue/todo -type f -delete"},
		{text: "find /var/hvmail/qmail-disk/queue/bounce -type f -delete"},
	})
}

// rehearsalDB returns the last word of a command line when it names a
// scratch database of rb's rehearsal (rehearsal_prefix), else "\x00".
func rehearsalDB(rb *wizard.Runbook, line string) string {
	prefix, _ := rb.Params["rehearsal_prefix"].(string)
	f := strings.Fields(line)
	if prefix == "" || len(f) == 0 || !strings.HasPrefix(f[len(f)-1], prefix) {
		return "\x00"
	}
	return f[len(f)-1]
}

var bluemindOrder = []string{
	"ssh-old", "rsync-old", "rsync-new", "same-version", "same-plugins", "same-external-url", "setup-wizard", "disk-space",
	"stop-services-new", "plan-precopy", "sync-spools-hot", "precopy-cyrus", "check-db-login",
	"start-postgres-new-hot", "rehearse-dump", "rehearse-restore",
	"stop-services-new-cold", "stop-services-old", "sync-spools-cold", "start-postgres-old", "dump-databases",
	"copy-config", "check-postfix-maps", "start-postgres-new", "restore-databases", "verify-databases",
	"stop-old-server", "move-ip", "restart-new",
	"firewall-save", "mail-routing", "my-networks", "tick-reconfigure",
}

func TestBlueMindSteps(t *testing.T) {
	rb := load(t, "bluemind")
	var phases []string
	for _, p := range rb.Phases {
		phases = append(phases, p.ID)
	}
	if want := []string{"preflight", "hot-sync", "cold-sync", "replace", "post"}; !reflect.DeepEqual(phases, want) {
		t.Errorf("phases %q, want %q", phases, want)
	}
	checkSteps(t, rb, bluemindOrder, []stepWant{
		{id: "ssh-old", phase: "preflight", host: "old", level: "check", kind: "ssh-connect"},
		{id: "rsync-old", phase: "preflight", host: "old", level: "check", kind: "command"},
		{id: "rsync-new", phase: "preflight", host: "new", level: "check", kind: "command"},
		{id: "same-version", phase: "preflight", host: "new", level: "check", kind: "compare-packages"},
		{id: "same-plugins", phase: "preflight", host: "new", level: "check", kind: "compare-packages"},
		{id: "same-external-url", phase: "preflight", host: "new", level: "check", kind: "compare-setting"},
		{id: "setup-wizard", phase: "preflight", host: "new", level: "manual", kind: "manual"},
		{id: "disk-space", phase: "preflight", host: "new", level: "check", kind: "disk-space"},
		{id: "stop-services-new", phase: "hot-sync", host: "new", level: "auto", kind: "command", destructive: true, precondKind: "compare-packages"},
		{id: "sync-spools-hot", phase: "hot-sync", host: "new", level: "auto", kind: "rsync", repeatable: true},
		{id: "precopy-cyrus", phase: "hot-sync", host: "new", level: "auto", kind: "rsync", repeatable: true, when: true},
		{id: "check-db-login", phase: "hot-sync", host: "old", level: "check", kind: "pg-login"},
		{id: "start-postgres-new-hot", phase: "hot-sync", host: "new", level: "auto", kind: "command"},
		{id: "rehearse-dump", phase: "hot-sync", host: "old", level: "auto", kind: "pg-dump"},
		{id: "rehearse-restore", phase: "hot-sync", host: "new", level: "auto", kind: "pg-restore"},
		{id: "stop-services-old", phase: "cold-sync", host: "old", level: "auto", kind: "command", destructive: true, downtime: "start", precondKind: "ssh-connect"},
		{id: "sync-spools-cold", phase: "cold-sync", host: "new", level: "auto", kind: "rsync"},
		{id: "start-postgres-old", phase: "cold-sync", host: "old", level: "auto", kind: "command"},
		{id: "dump-databases", phase: "cold-sync", host: "old", level: "ask", kind: "pg-dump"},
		{id: "copy-config", phase: "cold-sync", host: "new", level: "auto", kind: "copy-files"},
		{id: "start-postgres-new", phase: "cold-sync", host: "new", level: "auto", kind: "command"},
		{id: "restore-databases", phase: "cold-sync", host: "new", level: "auto", kind: "pg-restore", destructive: true, precondKind: "files-present"},
		{id: "verify-databases", phase: "cold-sync", host: "new", level: "check", kind: "pg-verify"},
		{id: "stop-old-server", phase: "replace", host: "old", level: "manual", kind: "manual", destructive: true, precondKind: "pg-verify"},
		{id: "move-ip", phase: "replace", host: "new", level: "manual", kind: "manual"},
		{id: "restart-new", phase: "replace", host: "new", level: "manual", kind: "manual", downtime: "end"},
		{id: "firewall-save", phase: "post", host: "new", level: "manual", kind: "manual"},
		{id: "mail-routing", phase: "post", host: "new", level: "manual", kind: "manual"},
		{id: "my-networks", phase: "post", host: "new", level: "manual", kind: "manual"},
		{id: "tick-reconfigure", phase: "post", host: "new", level: "auto", kind: "command"},
	})

	params := map[string]any{}
	for _, id := range []string{"sync-spools-hot", "precopy-cyrus", "sync-spools-cold", "dump-databases",
		"copy-config", "restore-databases", "verify-databases"} {
		s := rb.Step(id)
		for k, v := range resolved(t, rb, s, s.Params) {
			params[id+"."+k] = v
		}
	}
	spools := []any{"/var/spool/bm-hsm", "/var/spool/bm-elasticsearch", "/var/spool/bm-docs", "/var/spool/bm-filehosting"}
	for key, want := range map[string]any{
		"sync-spools-hot.paths":            spools,
		"sync-spools-hot.delete":           true,
		"sync-spools-hot.hard_links":       true,
		"precopy-cyrus.paths":              []any{"/var/spool/cyrus"},
		"sync-spools-cold.paths":           append([]any{"/var/spool/cyrus"}, spools...),
		"sync-spools-cold.pass":            "cold",
		"dump-databases.databases":         []any{"bj", "bj-data"},
		"dump-databases.user":              "bj",
		"dump-databases.password_answer":   "db_password",
		"verify-databases.password_answer": "db_password",
		"restore-databases.databases":      []any{"bj", "bj-data"},
		"restore-databases.jobs":           "2",
		"copy-config.backup":               true,
	} {
		if !reflect.DeepEqual(params[key], want) {
			t.Errorf("%s = %#v, want %#v", key, params[key], want)
		}
	}
	items, _ := params["copy-config.items"].([]any)
	if len(items) != 17 {
		t.Errorf("copy-config copies %d items, want the procedure's 17", len(items))
	}

	// The password is a secret answer: never journaled, never in a command.
	q := rb.Step("dump-databases").Ask[0]
	if q.Key != "db_password" || q.Type != "secret" || !strings.Contains(q.Help, "secret") {
		t.Errorf("password question %+v: want key db_password, type secret, help saying it is a secret", q)
	}
	if q.Default != "" {
		t.Errorf("the password question has a default %q", q.Default)
	}
	d := sample(rb, "rhel", typical)
	d.Answers["db_password"] = "s3cr3t-pw"
	for i := range rb.Steps {
		s := &rb.Steps[i]
		for _, fam := range []string{wizard.FamilyRHEL, wizard.FamilyDebian} {
			d.Family = fam
			acts, err := wizard.Plan(s, d)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range acts {
				line := actionLine(a)
				if strings.Contains(line, "s3cr3t-pw") || regexp.MustCompile(`PGPASSWORD=[^…]`).MatchString(line) {
					t.Errorf("step %s shows a password: %s", s.ID, line)
				}
			}
		}
	}
	// The cyrus pre-copy runs only when the admin chose it.
	for answer, want := range map[string]string{"yes": "true", "no": "false"} {
		got, _ := wizard.Render(rb.Step("precopy-cyrus").When, sample(rb, "rhel", map[string]string{"precopy_cyrus": answer}))
		if got != want {
			t.Errorf("precopy-cyrus when %s: %q, want %q", answer, got, want)
		}
	}
	// Each dump goes into its own database, and never with -C after a
	// createdb of the same name.
	restore := regexp.MustCompile(`pg_restore .*--dbname=(\S+) .*\S+/dump-(\S+)\.sql$`)
	restores := 0
	for _, line := range per(t, rb)["restore-databases"] {
		if m := restore.FindStringSubmatch(line); m != nil {
			restores++
			if m[1] != m[2] || strings.Contains(line, " -C ") || strings.Contains(line, "--create") {
				t.Errorf("restore command %q does not restore the dump into its own database", line)
			}
		}
	}
	if restores != 2 {
		t.Errorf("%d restore commands, want one per database", restores)
	}
	// The restore explains the published commands' hazard.
	help := rb.Step("restore-databases").Help
	for _, s := range []string{"createdb", "pg_restore -C -d bj", "exit status 1", "bj-data"} {
		if !strings.Contains(help, s) {
			t.Errorf("restore help does not mention %q", s)
		}
	}
}

func TestBlueMindAcceptance(t *testing.T) {
	wants := []want{
		{text: "rpm -qa --qf %{NAME} %{VERSION}-%{RELEASE}\n bm-core", family: "rhel"},
		{text: "dpkg-query -W -f=${Package} ${Version} ${Status}\n bm-core", family: "debian"},
		{text: "rpm -qa --qf %{NAME} %{VERSION}-%{RELEASE}\n bm-plugin-*", family: "rhel"},
		{text: "dpkg-query -W -f=${Package} ${Version} ${Status}\n bm-plugin-*", family: "debian"},
		{text: "read external-url in /etc/bm/bm.ini"},
		{text: "rsync --version"},
		{text: "setup wizard", anywhere: true},
		{text: "subscription", anywhere: true},
		{text: "df -Pk /var/spool"},
		{text: "bmctl stop"},
		{text: "systemctl stop postfix.service"},
		{text: "rsync -a -H --delete --max-delete=‹deletion limit: 1000, a tenth of the tree from 100 on, or the count you confirm› --info=del1 --partial --no-inc-recursive --info=progress2 --stats -s -e ‹ssh with the port, key and known_hosts ferry connects with› -- root@192.0.2.10:/var/spool/cyrus/ /var/spool/cyrus/"},
		{text: "systemctl start postgresql.service"},
		{text: "--username=bj --format=custom bj\n"},
		{text: "--username=bj --format=custom bj-data\n"},
		// The configuration in one transfer: each file keeps its place
		// (--relative) and what it overwrites is backed up.
		{text: "rsync -a --relative --partial -e ‹ssh with the port, key and known_hosts ferry connects with› --backup --suffix=‹backup suffix, the time the step starts› root@192.0.2.10:/./etc/bm/* :/./etc/nginx/sw.htpasswd :/./etc/ssl/certs/bm_cert*.pem :/./var/lib/bm-ca/* :/./usr/share/bm-elasticsearch/config/elasticsearch.yml"},
		{text: "runuser -u postgres -- dropdb --no-password --host=/var/run/postgresql --port=5432 --username=postgres --if-exists --maintenance-db=postgres bj\n"},
		{text: "runuser -u postgres -- dropdb --no-password --host=/var/run/postgresql --port=5432 --username=postgres --if-exists --maintenance-db=postgres bj-data\n"},
		{text: "runuser -u postgres -- createdb --no-password --host=/var/run/postgresql --port=5432 --username=postgres --maintenance-db=postgres --template=template0 --owner=bj --encoding=UTF8 bj\n"},
		{text: "runuser -u postgres -- createdb --no-password --host=/var/run/postgresql --port=5432 --username=postgres --maintenance-db=postgres --template=template0 --owner=bj --encoding=UTF8 bj-data\n"},
		{text: "runuser -u postgres -- pg_restore --no-password --host=/var/run/postgresql --port=5432 --username=postgres --verbose --exit-on-error --dbname=bj --jobs=2 /var/backups/ferry-bluemind/dump-bj.sql"},
		{text: "runuser -u postgres -- pg_restore --no-password --host=/var/run/postgresql --port=5432 --username=postgres --verbose --exit-on-error --dbname=bj-data --jobs=2 /var/backups/ferry-bluemind/dump-bj-data.sql"},
		{text: "Security > Firewall", anywhere: true},
		{text: "Manage messaging system", anywhere: true},
		{text: "My Networks", anywhere: true},
		{text: "admin0@global.virt", anywhere: true},
		{text: "bm-cli tick reconfigure"},
	}
	for _, spool := range []string{"bm-hsm", "bm-elasticsearch", "bm-docs", "bm-filehosting"} {
		wants = append(wants, want{text: "-- root@192.0.2.10:/var/spool/" + spool + "/ /var/spool/" + spool + "/\n"})
	}
	for _, f := range []string{"/etc/nginx/sw.htpasswd", "/usr/share/bm-elasticsearch/config/elasticsearch.yml",
		"/etc/postfix/main.cf", "/etc/postfix/master.cf",
		"/etc/postfix/master_relay_transport-flat", "/etc/postfix/master_relay_transport.db",
		"/etc/postfix/transport-flat", "/etc/postfix/transport.db",
		"/etc/postfix/virtual_alias-flat", "/etc/postfix/virtual_alias.db",
		"/etc/postfix/virtual_domains-flat", "/etc/postfix/virtual_domains.db",
		"/etc/postfix/virtual_mailbox-flat", "/etc/postfix/virtual_mailbox.db"} {
		wants = append(wants, want{text: " :/." + f})
	}
	checkWants(t, "bluemind", wants)

	// Both stops (hot: new only; cold: both servers) and both spool passes.
	rb := load(t, "bluemind")
	per, _ := rendered(t, rb, wizard.FamilyDebian)
	for _, id := range []string{"stop-services-new", "stop-services-new-cold", "stop-services-old"} {
		if got := strings.Join(per[id], "\n"); got != "bmctl stop\nsystemctl stop postfix.service" {
			t.Errorf("%s runs %q", id, got)
		}
	}
	transfers := func(id string) []string {
		var out []string
		for _, l := range per[id] {
			if strings.HasPrefix(l, "rsync ") {
				out = append(out, l)
			}
		}
		return out
	}
	if n := len(transfers("sync-spools-hot")); n != 4 {
		t.Errorf("hot pass shows %d rsyncs, want 4", n)
	}
	if c := transfers("sync-spools-cold"); len(c) != 5 || !strings.Contains(c[0], "/var/spool/cyrus/") {
		t.Errorf("cold pass shows %q, want cyrus and the four spools", c)
	}
}
