package wizard

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func TestEveryKindHasAPlanner(t *testing.T) {
	for _, k := range KindNames() {
		if kindPlanners[k] == nil {
			t.Errorf("kind %q has no planner", k)
		}
	}
	for k := range kindPlanners {
		if _, ok := Kinds[k]; !ok {
			t.Errorf("planner for undeclared kind %q", k)
		}
	}
}

// TestEveryStepPlansBeforeAnythingIsKnown plans every step and check of
// both runbooks with nothing answered: each gives at least one action, and
// what is not known shows as a placeholder, never as an empty word.
func TestEveryStepPlansBeforeAnythingIsKnown(t *testing.T) {
	for _, name := range []string{"greenarrow", "bluemind"} {
		rb, err := LoadRunbook(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, fam := range []string{"", FamilyRHEL, FamilyDebian} {
			d := DisplayData(rb, fam, nil, nil)
			for i := range rb.Steps {
				s := &rb.Steps[i]
				byFam, fams, err := PlanFamilies(s, d)
				if err != nil {
					t.Errorf("%s/%s (%q): %v", name, s.ID, fam, err)
					continue
				}
				for _, f := range fams {
					if len(byFam[f]) == 0 {
						t.Errorf("%s/%s (%s): no action", name, s.ID, f)
					}
					for _, a := range byFam[f] {
						if a.Host != HostOld && a.Host != HostNew {
							t.Errorf("%s/%s: action %q has host %q", name, s.ID, a, a.Host)
						}
						for _, w := range a.Argv {
							if strings.TrimSpace(w) == "" {
								t.Errorf("%s/%s: action %q has an empty word", name, s.ID, a.Argv)
							}
						}
						if fam == "" && testing.Verbose() {
							t.Logf("%s/%s [%s] %s", name, s.ID, f, a.Line(s.Host))
						}
					}
				}
				for _, c := range []*Check{s.Precondition, s.Success} {
					if _, err := PlanCheck(s, c, d); err != nil {
						t.Errorf("%s/%s check: %v", name, s.ID, err)
					}
				}
			}
		}
	}
}

// TestCopyFilesToRootMakesNoDirectory plans copy-files into the root (the
// BlueMind configuration copy) and into a directory: the root gets no
// mkdir, which would do nothing, while a directory is made before the
// transfer.
func TestCopyFilesToRootMakesNoDirectory(t *testing.T) {
	s := &Step{ID: "c", Kind: "copy-files", Host: HostNew}
	d := withPlanDefaults(TemplateData{})
	for to, wantMkdir := range map[string]bool{"": false, "/": false, "//": false, "/srv/x/": true} {
		acts, err := planCopyFiles(s, params{"items": []any{"/etc/a"}, "to_dir": to}, d)
		if err != nil {
			t.Fatal(err)
		}
		mk := 0
		for _, a := range acts {
			if len(a.Argv) > 0 && a.Argv[0] == "mkdir" {
				mk++
				if a.Argv[len(a.Argv)-1] != "/srv/x" {
					t.Errorf("to_dir %q: mkdir %q", to, a.Argv)
				}
			}
		}
		if (mk == 1) != wantMkdir || mk > 1 {
			t.Errorf("to_dir %q: %d mkdir actions in %v, want mkdir %v", to, mk, acts, wantMkdir)
		}
		if last := acts[len(acts)-1].Argv; len(last) == 0 || last[0] != "rsync" {
			t.Errorf("to_dir %q: the last action is %q, not the transfer", to, last)
		}
	}
}

// TestDisplayArgvIsOneLineBashReadsBack shows argvs whose words hold
// newlines, tabs, other control characters, quotes and backslashes: the
// line has no control character, and real bash, given the line, hands the
// program back the very same words.
func TestDisplayArgvIsOneLineBashReadsBack(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash on this machine")
	}
	argv := []string{"rpm", "-qa", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\n", "-f=${Package}\t${Status}\n", `it's a \ back\x01slash` + "\x1b\u0085é", "", "plain word"}
	line := DisplayArgv(argv)
	if strings.IndexFunc(line, unicode.IsControl) >= 0 {
		t.Fatalf("the line holds a control character: %q", line)
	}
	if want := `$'%{NAME} %{VERSION}-%{RELEASE}\n'`; !strings.Contains(line, want) {
		t.Errorf("line %q lacks %s", line, want)
	}
	if !strings.HasPrefix(line, "rpm -qa --qf ") {
		t.Errorf("words without control characters are quoted as before: %q", line)
	}
	// Each word printed NUL-terminated, so the newlines inside words survive.
	out, err := exec.Command(bash, "-c", `printf '%s\0' `+strings.TrimPrefix(line, "rpm ")).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if !slices.Equal(got, argv[1:]) {
		t.Errorf("bash read back %q, want %q", got, argv[1:])
	}
	if a := (PlanAction{Argv: argv}); a.String() != line || strings.Contains(a.Line(HostNew), "\n") {
		t.Errorf("PlanAction shows %q, want %q on one line", a.Line(HostNew), line)
	}
}

// TestSSHOldHelpSaysHowToInstallAKey reads the help of both runbooks' SSH
// step: ferry creates no key itself, so the help names the two commands
// that make one and install it, and promises nothing else.
func TestSSHOldHelpSaysHowToInstallAKey(t *testing.T) {
	for _, name := range []string{"greenarrow", "bluemind"} {
		rb, err := LoadRunbook(name)
		if err != nil {
			t.Fatal(err)
		}
		s := rb.Step("ssh-old")
		if s == nil {
			t.Fatalf("%s: no step ssh-old", name)
		}
		for _, want := range []string{"`ssh-keygen -t ed25519`", "`ssh-copy-id -p PORT root@OLD`"} {
			if !strings.Contains(s.Help, want) {
				t.Errorf("%s/ssh-old help lacks %s: %s", name, want, s.Help)
			}
		}
		if strings.Contains(s.Help, "offers to create") {
			t.Errorf("%s/ssh-old help promises a key ferry does not create: %s", name, s.Help)
		}
	}
}

// TestRestoreListsEachDumpOnce plans BlueMind's restore step: each dump is
// listed by pg_restore --list once (as the postgres OS user), not once per
// check; TestBlueMindShownIsRun holds the run to the same count, since each
// command that runs must match a planned one of its own.
func TestRestoreListsEachDumpOnce(t *testing.T) {
	rb, err := LoadRunbook("bluemind")
	if err != nil {
		t.Fatal(err)
	}
	s := rb.Step("restore-databases")
	if s == nil {
		t.Fatal("no step restore-databases")
	}
	acts, err := Plan(s, DisplayData(rb, FamilyDebian, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	lists := map[string]int{}
	for _, a := range acts {
		if i := slices.Index(a.Argv, "--list"); i > 0 && a.Argv[i-1] == "pg_restore" {
			lists[a.Argv[len(a.Argv)-1]]++
			if a.Argv[0] != "runuser" {
				t.Errorf("listing not made as the restoring OS user: %q", a.Argv)
			}
		}
	}
	if len(lists) != 2 {
		t.Errorf("listings of %d dumps, want 2: %v", len(lists), lists)
	}
	for f, n := range lists {
		if n != 1 {
			t.Errorf("%s is listed %d times, want once", f, n)
		}
	}
}

// TestSplitProbes puts changes before probes, each in plan order, and leaves
// a step that only looks in plan order, unsplit.
func TestSplitProbes(t *testing.T) {
	p1 := PlanAction{Argv: []string{"id", "-u"}, Probe: true}
	p2 := PlanAction{Argv: []string{"rpm", "-q", "x"}, Probe: true}
	c1 := PlanAction{Argv: []string{"yum", "install", "-y", "x"}}
	d1 := PlanAction{Does: "count the files left"}
	ch, pr := SplitProbes([]PlanAction{p1, c1, p2, d1})
	if len(ch) != 2 || ch[0].Argv[0] != "yum" || ch[1].Does == "" || len(pr) != 2 || pr[0].Argv[0] != "id" || pr[1].Argv[0] != "rpm" {
		t.Errorf("split: changes %v, probes %v", ch, pr)
	}
	ch, pr = SplitProbes([]PlanAction{d1, p1, p2})
	if len(ch) != 3 || len(pr) != 0 || ch[0].Does == "" || ch[2].Argv[0] != "rpm" {
		t.Errorf("looks only: changes %v, probes %v", ch, pr)
	}
}
