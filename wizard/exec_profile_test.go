package wizard

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
)

// TestProfileEnvironmentReachesLaterStepsOnARealRoot runs load-profile and
// then a command step on a host whose root is "/", as on a real server: the
// profile script puts a directory on PATH that ferry's own PATH lacks, and
// the later step must find the program that is only there.
func TestProfileEnvironmentReachesLaterStepsOnARealRoot(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "vendor", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	prog := "ferry-profile-probe"
	if err := os.WriteFile(filepath.Join(bin, prog), []byte("#!/bin/sh\necho \"probe ran with VENDOR_HOME=$VENDOR_HOME\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	profile := filepath.Join(dir, "vendor-profile.sh")
	script := "PATH=$PATH:" + bin + "\nexport PATH\nVENDOR_HOME=" + dir + "/vendor\nexport VENDOR_HOME\n"
	if err := os.WriteFile(profile, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, prog)); err == nil {
			t.Fatalf("%s is on ferry's own PATH (%s): the test proves nothing", prog, d)
		}
	}

	nh, err := remote.NewLocal(HostNew, "/")
	if err != nil {
		t.Fatal(err)
	}
	x := &TaskExecutor{New: nh}
	rep := &bmRecorder{}
	env := &StepEnv{Data: TemplateData{Answers: map[string]string{}, Facts: map[string]string{}, Family: FamilyDebian}, Report: rep}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	load := &Step{ID: "load-profile", Host: HostNew, Kind: "load-profile", Params: map[string]any{"scripts": []any{profile}}}
	out, err := x.Run(ctx, load, env)
	if err != nil {
		t.Fatalf("load-profile: %v", err)
	}
	if !strings.Contains(out.Facts["profile_env"], bin) {
		t.Fatalf("profile_env %q does not carry %s", out.Facts["profile_env"], bin)
	}
	env.Data.Facts["profile_env"] = out.Facts["profile_env"]

	later := &Step{ID: "check-config", Host: HostNew, Kind: "command", Params: map[string]any{"show_output": true},
		Commands: map[string][]Command{FamilyAny: {{Argv: []string{prog}}}}}
	out, err = x.Run(ctx, later, env)
	if err != nil {
		t.Fatalf("a step after load-profile cannot run %s: %v", prog, err)
	}
	_, lines := rep.snapshot()
	if want := "probe ran with VENDOR_HOME=" + dir + "/vendor"; !strings.Contains(out.Message+strings.Join(lines, "\n"), want) {
		t.Errorf("the probe's output does not show the profile's VENDOR_HOME: message %q, output %q", out.Message, lines)
	}

	// Without the profile environment the same step does not find it.
	delete(env.Data.Facts, "profile_env")
	if _, err := x.Run(ctx, later, env); err == nil {
		t.Errorf("%s ran without the profile environment: it is on ferry's PATH after all", prog)
	}
}
