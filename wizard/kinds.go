package wizard

import "sort"

// KindSpec describes a task kind a step (or a check) can name: what it does
// and which parameters it takes. The validator rejects unknown kinds,
// unknown parameters and missing required ones.
type KindSpec struct {
	Summary  string
	Required []string
	Optional []string
	// Check marks kinds that only read (usable as precondition/success).
	Check bool
	// Values lists, for a parameter that takes one of a few words, those
	// words; the loader refuses any other (a template is taken as it is).
	Values map[string][]string
	// Learns lists the answers the kind's task finds out by itself and
	// hands back in Outcome.Answers (ssh-connect: the port it reached the
	// old server on), so templates may read them as .Answers.NAME.
	Learns []string
}

// Kinds is every task kind a runbook may use.
var Kinds = map[string]KindSpec{
	"check-root": {Summary: "ferry runs as root (effective uid 0)", Check: true},
	"ssh-connect": {Summary: "connect to the old server over SSH with key authentication, verifying its host key",
		Optional: []string{"user"}, Check: true, Learns: []string{"ssh_port"}},
	"package-version": {Summary: "an installed package is at least a minimum version (rpm or dpkg ordering)",
		Required: []string{"packages", "min"}, Check: true},
	"path-absent": {Summary: "a path does not exist; if it does, show it and stop",
		Required: []string{"path"}, Optional: []string{"show"}, Check: true},
	"path-present": {Summary: "a path exists",
		Required: []string{"path"}, Check: true},
	"same-platform": {Summary: "both servers run the same distribution family and architecture", Check: true},
	"pg-version": {Summary: "the PostgreSQL version the data directory link points at is supported on the new server",
		Required: []string{"link", "blocked_version", "blocked_targets"}, Check: true},
	"disk-space": {Summary: "the data to move fits in the free space on the new server, with a margin",
		Required: []string{"source", "target"}, Optional: []string{"margin_percent"}, Check: true},
	"record": {Summary: "records the answers to the step's questions; nothing runs"},
	"install-packages": {Summary: "installs the packages a family needs, skipping those present",
		Required: []string{"packages"}},
	"hosts-entry": {Summary: "adds or removes one name in /etc/hosts, idempotently, keeping a backup",
		Required: []string{"action", "name"}, Optional: []string{"ip"}},
	"ssh-config": {Summary: "writes into root's ssh config the Host block an alias needs for the system ssh to reach the server ferry reached (HostName, Port, User, IdentityFile, known_hosts, and the weak algorithms only when legacy is yes), then proves it in batch mode",
		Required: []string{"alias", "port"}, Optional: []string{"legacy"}},
	"files-present": {Summary: "every named file exists in a directory",
		Required: []string{"dir", "files"}, Check: true},
	"copy-files": {Summary: "copies files from the old server to the new one in one transfer, backing up each file it overwrites",
		Required: []string{"items"}, Optional: []string{"from_dir", "to_dir", "backup"}},
	"tablespaces": {Summary: "reads the PostgreSQL tablespace list and, for each with a location, creates the directory and rsyncs it",
		Required: []string{"file"}, Optional: []string{"pass"}},
	"manual": {Summary: "explains what the admin must do by hand, and waits for confirmation",
		Optional: []string{"show_secret_file", "show"}},
	"load-profile": {Summary: "sources profile scripts and carries the environment into later steps",
		Required: []string{"scripts"}},
	"command": {Summary: "runs the step's commands for the server's family",
		Optional: []string{"expect_last_line", "ok_exit", "skip_if_present", "timed", "show_output", "env_answers"}},
	"rsync": {Summary: "rsyncs directories from the old server to the new one with live counters",
		Required: []string{"paths"}, Optional: []string{"delete", "hard_links", "pass", "parallel", "max_delete", "numeric_ids"}},
	"queue-merge": {Summary: "feeds every message file of the parked queue to the merge program, counting down",
		Required: []string{"old_queue", "queue", "merge"}},
	"count-files": {Summary: "counts the files under a directory; with expect, the count must equal it; with missing_ok, a directory that does not exist holds none",
		Required: []string{"dir"}, Optional: []string{"expect", "missing_ok"}, Check: true},
	"remove-dir": {Summary: "removes a directory tree",
		Required: []string{"path"}},
	"remove-files": {Summary: "removes the named files, reporting which were there",
		Required: []string{"paths"}},
	"delete-files": {Summary: "deletes every regular file under the named directories (the directories stay), reporting how many went",
		Required: []string{"dirs"}},
	"resolv-conf": {Summary: "writes /etc/resolv.conf from the DNS cache setting or the admin's choice, atomically with a backup",
		Required: []string{"config", "setting"}},
	"service-status": {Summary: "runs the status command (command, an argv; default service greenarrow status) on the step's host or on server (old or new) and parses its list: every service up except those allowed down, or with expect: down, none up",
		Optional: []string{"allowed_down", "command", "expect", "server"}, Check: true,
		Values: map[string][]string{"expect": {"up", "down"}, "server": {HostOld, HostNew}}},
	"units-inactive": {Summary: "runs systemctl is-active on the step's host or on server (old or new) and passes when no unit listed is active (systemctl(1): one state per unit; only active, activating, reloading and refreshing count as running)",
		Required: []string{"units"}, Optional: []string{"server"}, Check: true,
		Values: map[string][]string{"server": {HostOld, HostNew}}},
	"compare-packages": {Summary: "compares installed package versions or sets on both servers",
		Required: []string{"pattern", "mode"}, Check: true},
	"compare-setting": {Summary: "compares one setting of a configuration file on both servers",
		Required: []string{"file", "key"}, Check: true},
	"pg-dump": {Summary: "dumps databases on the old server in custom format, streamed over SSH into files on the new one",
		Required: []string{"databases", "dir"}, Optional: []string{"user", "host", "port", "password_answer", "parallel", "record"}},
	"pg-restore": {Summary: "checks every archive (whole, roles and tablespaces present), then restores each dump into its own database with --jobs as the postgres OS user, counting archive items",
		Required: []string{"databases", "dir"}, Optional: []string{"jobs", "os_user", "host", "port", "user", "password_answer", "owner", "encoding", "scratch_prefix"}},
	"pg-verify": {Summary: "compares exact per-table row counts on both servers",
		Required: []string{"databases"}, Optional: []string{"user", "password_answer", "host", "port", "new_os_user", "new_host", "new_port", "new_user", "new_password_answer"}, Check: true},
	"pg-login": {Summary: "logs in to each database on the old server as the dump and the row-count proof will, changing nothing",
		Required: []string{"databases"}, Optional: []string{"user", "password_answer", "host", "port"}, Check: true},
	"postfix-maps": {Summary: "proves the new server's Postfix can use each lookup table (postconf -m, postconf -n, one postmap -q per table), rebuilding a failing one from its source when asked, naming every table it cannot use", Required: []string{"maps"}, Optional: []string{"source_suffix", "default_type", "rebuild"}},
}

// KindNames returns the known kinds, sorted.
func KindNames() []string {
	out := make([]string, 0, len(Kinds))
	for k := range Kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
