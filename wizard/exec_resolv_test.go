package wizard

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/tasks"
)

// resolvSetup builds a new server root whose /etc/resolv.conf is a link to
// a systemd-resolved-style stub, and greenarrow.conf holding conf.
func resolvSetup(t *testing.T, conf string) (*TaskExecutor, *Step, string) {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"/etc", "/run/systemd/resolve", "/var/hvmail/control"} {
		if err := os.MkdirAll(root+d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stub := "# managed by systemd-resolved\nnameserver 127.0.0.53\noptions edns0\nsearch example.net\n"
	if err := os.WriteFile(root+"/run/systemd/resolve/stub-resolv.conf", []byte(stub), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../run/systemd/resolve/stub-resolv.conf", root+"/etc/resolv.conf"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root+"/var/hvmail/control/greenarrow.conf", []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := remote.NewLocal("new", root)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	s := rb.Step("dns-resolvers")
	if s == nil {
		t.Fatal("no dns-resolvers step")
	}
	return &TaskExecutor{New: h}, s, root
}

func resolvEnv(rb map[string]any, answers, facts map[string]string) *StepEnv {
	return &StepEnv{Data: TemplateData{Params: rb, Family: FamilyRHEL, Answers: answers, Facts: facts}, Report: tasks.Discard}
}

// TestResolvConfLinkIsAQuestion: a resolv.conf that is a link makes the
// step ask (its question applies), and each answer does what it says.
func TestResolvConfLinkIsAQuestion(t *testing.T) {
	ctx := context.Background()
	x, s, root := resolvSetup(t, "dns_cache_service_run = no\n")
	rb, _ := LoadRunbook("greenarrow")
	env := resolvEnv(rb.Params, map[string]string{}, map[string]string{})
	facts, err := x.Prepare(ctx, s, env)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if facts["dns_cache"] != "no" || !strings.Contains(facts["resolv_link"], "stub-resolv.conf") {
		t.Fatalf("Prepare facts = %v, want dns_cache=no and resolv_link naming the stub", facts)
	}
	var q *Question
	for i := range s.Ask {
		if s.Ask[i].Key == "resolv_link_action" {
			q = &s.Ask[i]
		}
	}
	if q == nil {
		t.Fatal("the dns-resolvers step has no resolv_link_action question")
	}
	for _, tc := range []struct {
		facts map[string]string
		want  string
	}{{facts, "true"}, {map[string]string{"resolv_link": ""}, "false"}, {map[string]string{}, "false"}} {
		got, err := Render(q.When, TemplateData{Facts: tc.facts})
		if err != nil || got != tc.want {
			t.Errorf("when %q with facts %v = %q, %v; want %q", q.When, tc.facts, got, err, tc.want)
		}
	}

	t.Run("leave", func(t *testing.T) {
		out, err := x.Run(ctx, s, resolvEnv(rb.Params, map[string]string{"resolvers": "9.9.9.9", "resolv_link_action": "leave"}, facts))
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if fi, err := os.Lstat(root + "/etc/resolv.conf"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("resolv.conf is no longer the link after 'leave'")
		}
		if len(out.Warnings) == 0 || !strings.Contains(out.Warnings[0], "9.9.9.9") {
			t.Errorf("warnings = %v, want one naming the resolvers to set by hand", out.Warnings)
		}
	})
	t.Run("no answer refuses", func(t *testing.T) {
		_, err := x.Run(ctx, s, resolvEnv(rb.Params, map[string]string{"resolvers": "9.9.9.9"}, facts))
		if err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Fatalf("Run without an answer: err = %v, want the link refused", err)
		}
	})
	t.Run("systemd-resolved", func(t *testing.T) {
		// systemctl is looked up on the host; give the root one that
		// records its arguments.
		bin := filepath.Join(t.TempDir(), "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		log := filepath.Join(bin, "calls")
		if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte("#!/bin/sh\necho \"$@\" >> "+log+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
		out, err := x.Run(ctx, s, resolvEnv(rb.Params, map[string]string{"resolvers": "9.9.9.9 149.112.112.112", "resolv_link_action": "systemd-resolved"}, facts))
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		b, err := os.ReadFile(root + tasks.ResolvedDropIn)
		if err != nil || !strings.Contains(string(b), "\nDNS=9.9.9.9 149.112.112.112\n") || !strings.Contains(string(b), "[Resolve]") {
			t.Fatalf("drop-in = %q, %v", b, err)
		}
		if calls, _ := os.ReadFile(log); strings.TrimSpace(string(calls)) != "restart systemd-resolved" {
			t.Errorf("systemctl calls = %q, want one restart of systemd-resolved", calls)
		}
		if fi, err := os.Lstat(root + "/etc/resolv.conf"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("resolv.conf is no longer the link after 'systemd-resolved'")
		}
		if len(out.Commands) != 2 {
			t.Errorf("commands recorded = %+v, want the drop-in write and the restart", out.Commands)
		}
	})
	t.Run("replace", func(t *testing.T) {
		_, err := x.Run(ctx, s, resolvEnv(rb.Params, map[string]string{"resolvers": "9.9.9.9", "resolv_link_action": "replace"}, facts))
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		fi, err := os.Lstat(root + "/etc/resolv.conf")
		if err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("resolv.conf after 'replace' is %v, %v; want a regular file", fi, err)
		}
		b, _ := os.ReadFile(root + "/etc/resolv.conf")
		if !strings.Contains(string(b), "nameserver 9.9.9.9") || strings.Contains(string(b), "127.0.0.53") || !strings.Contains(string(b), "search example.net") {
			t.Errorf("resolv.conf = %q, want 9.9.9.9 only, with the stub's search line kept", b)
		}
		if stub, _ := os.ReadFile(root + "/run/systemd/resolve/stub-resolv.conf"); !strings.Contains(string(stub), "127.0.0.53") {
			t.Errorf("the link's target was changed: %q", stub)
		}
	})
}

// TestResolvConfUnreadableSettingAsks: a dns_cache_service_run line ferry
// cannot read leads to the resolvers question, never to a failed step.
func TestResolvConfUnreadableSettingAsks(t *testing.T) {
	ctx := context.Background()
	x, s, _ := resolvSetup(t, "dns_cache_service_run = sometimes\n")
	rb, _ := LoadRunbook("greenarrow")
	facts, err := x.Prepare(ctx, s, resolvEnv(rb.Params, map[string]string{}, map[string]string{}))
	if err != nil {
		t.Fatalf("Prepare with an unreadable setting: %v", err)
	}
	if facts["dns_cache"] != "no" {
		t.Fatalf("dns_cache = %q, want no: the resolvers question must be asked", facts["dns_cache"])
	}
}
