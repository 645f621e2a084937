package wizard

import (
	"testing"

	"github.com/ferry-migrate/ferry/assets"
)

// TestHarmSaysWhatAndWhere: the destructive banner's sentence comes from
// the step's data: its downtime mark, its kind and the paths that kind
// deletes once rendered, the databases a restore replaces, the word "stop"
// in its commands; a step the data says nothing more about changes its
// server; a manual one is done by hand.
func TestHarmSaysWhatAndWhere(t *testing.T) {
	data := TemplateData{
		Params:  map[string]any{"old_queue": "/var/hvmail/qmail-disk/queue/old"},
		Answers: map[string]string{"backup": "/root/bk", "gone": Placeholder("gone")},
	}
	stop := map[string][]Command{"any": {{Argv: []string{"service", "greenarrow", "stop"}}}}
	for _, c := range []struct {
		name string
		step Step
		want string
	}{
		{"downtime start", Step{Kind: "command", Downtime: DowntimeStart, Commands: stop}, "Stops mail on the old server"},
		{"remove-dir from a param", Step{Kind: "remove-dir", Params: map[string]any{"path": "{{.Params.old_queue}}"}},
			"Deletes /var/hvmail/qmail-disk/queue/old on the old server"},
		{"remove-dir from an unknown answer", Step{Kind: "remove-dir", Params: map[string]any{"path": "{{.Answers.gone}}/q"}},
			"Deletes ‹gone›/q on the old server"},
		{"both", Step{Kind: "remove-dir", Downtime: DowntimeStart, Params: map[string]any{"path": "{{.Answers.backup}}"}},
			"Stops mail and deletes /root/bk on the old server"},
		{"two files", Step{Kind: "remove-files", Params: map[string]any{"paths": []any{"/etc/a", "/etc/b"}}},
			"Deletes /etc/a and /etc/b on the old server"},
		{"many directories", Step{Kind: "delete-files", Params: map[string]any{"dirs": []any{"/var/hv/q/a", "/var/hv/q/b", "/var/hv/r"}}},
			"Deletes the files in 3 directories under /var/hv on the old server"},
		{"many files, nothing shared", Step{Kind: "remove-files", Params: map[string]any{"paths": []any{"/a/x", "/b/y", "/c/z"}}},
			"Deletes /a/x, /b/y and 1 more on the old server"},
		{"restore", Step{Kind: "pg-restore", Params: map[string]any{"databases": []any{"bj", "bj-data"}}},
			"Replaces the databases bj and bj-data on the old server"},
		{"stops services", Step{Kind: "command", Commands: map[string][]Command{"debian": {{Shell: "systemctl stop postfix"}}}},
			"Stops services on the old server"},
		{"other commands", Step{Kind: "command", Commands: map[string][]Command{"any": {{Argv: []string{"touch", "/x"}}}}},
			"Changes the old server"},
		{"manual", Step{Kind: "manual", Level: LevelManual}, "Changes the old server"},
		{"manual downtime", Step{Kind: "manual", Level: LevelManual, Downtime: DowntimeStart}, "Stops mail on the old server"},
	} {
		if got := Harm(&c.step, data, "the old server"); got != c.want {
			t.Errorf("%s: Harm = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestHarmOfTheBuiltinRunbooks: every destructive step ferry runs in the
// built-in runbooks says something of its own, and the steps the reviews named
// read as they should.
func TestHarmOfTheBuiltinRunbooks(t *testing.T) {
	want := map[string]string{
		"stop-old":          "Stops mail on the new server",
		"remove-old-queue":  "Deletes /var/hvmail/qmail-disk/queue/old on the new server",
		"delete-old-queue":  "Deletes the files in 9 directories under /var/hvmail on the new server",
		"stop-services-new": "Stops services on the new server",
		"stop-services-old": "Stops mail on the new server",
		"restore-databases": "Replaces the databases bj and bj-data on the new server",
		"stop-old-server":   "Changes the new server",
	}
	for _, name := range []string{"greenarrow", "bluemind"} {
		data, err := assets.Runbook(name)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := loadBuiltin(name, data)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rb.Steps {
			s := &rb.Steps[i]
			if !s.Destructive {
				continue
			}
			got := Harm(s, TemplateData{Params: rb.Params}, "the new server")
			if w, ok := want[s.ID]; ok && got != w {
				t.Errorf("%s %s: Harm = %q, want %q", name, s.ID, got, w)
			}
			// A manual step's title and help say what the admin does.
			if got == "Changes the new server" && s.Kind != "manual" {
				t.Errorf("%s %s: Harm says nothing of its own: %q", name, s.ID, got)
			}
		}
	}
}
