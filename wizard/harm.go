package wizard

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// deletingParams names, for each kind that deletes, the parameter holding
// what it deletes and whether that parameter is a list (the same names
// deletionTargets is given by the planners and tasks of these kinds).
var deletingParams = map[string]struct {
	param string
	list  bool
}{
	"remove-dir":   {"path", false},
	"remove-files": {"paths", true},
	"delete-files": {"dirs", true},
}

// Harm says in one sentence what destructive step s does that an admin
// must agree to, built from the step's own data, never from a list of
// steps: its downtime mark ("stops mail" when it starts the window), its
// kind and what that kind deletes (the paths its parameter renders to with
// data; DisplayData puts a placeholder ‹name› for an answer not known yet), a pg-restore
// that replaces databases, commands that stop services. server is the
// words naming the step's host ("the old server", "mail-old.example.net").
// The sentence begins with a capital and has no closing full stop:
// "Stops mail on the old server", "Deletes /var/hvmail/queue on the new
// server", "Stops mail and deletes /x on the new server". A step the data
// says nothing more about (a manual step, whose help says what the admin
// does) "changes" its server.
func Harm(s *Step, data TemplateData, server string) string {
	var does []string
	if s.Downtime == DowntimeStart {
		does = append(does, "stops mail")
	}
	p, err := resolveParams(s.Params, withPlanDefaults(data))
	if err != nil {
		// A parameter that does not render yet: say what the runbook has.
		p = params(s.Params)
	}
	switch {
	case deletingParams[s.Kind].param != "":
		dp := deletingParams[s.Kind]
		var paths []string
		if dp.list {
			paths = p.list(dp.param)
		} else if v := p.str(dp.param); v != "" {
			paths = []string{v}
		}
		noun := "files"
		if s.Kind == "delete-files" {
			noun = "directories"
		}
		what := pathWords(paths, noun)
		switch {
		case what == "":
			does = append(does, "deletes files")
		case s.Kind == "delete-files":
			// The directories stay; the files in them go.
			does = append(does, "deletes the files in "+what)
		default:
			does = append(does, "deletes "+what)
		}
	case s.Kind == "pg-restore":
		dbs := p.list("databases")
		switch len(dbs) {
		case 0:
			does = append(does, "replaces databases")
		case 1:
			does = append(does, "replaces the database "+dbs[0])
		default:
			does = append(does, "replaces the databases "+andList(dbs))
		}
	case s.Kind == "command" && s.Downtime != DowntimeStart && stopsServices(s):
		does = append(does, "stops services")
	}
	var out string
	if len(does) == 0 {
		out = "changes " + server
	} else {
		out = andList(does) + " on " + server
	}
	return strings.ToUpper(out[:1]) + out[1:]
}

// stopsServices reports whether one of the commands of s, in any family,
// stops a service: an argv with the word "stop" (service X stop, systemctl
// stop X, bmctl stop), or a shell line with it.
func stopsServices(s *Step) bool {
	for _, cmds := range s.Commands {
		for _, c := range cmds {
			if slices.Contains(c.Argv, "stop") || slices.Contains(strings.Fields(c.Shell), "stop") {
				return true
			}
		}
	}
	return false
}

// pathWords names paths for a sentence: one or two by name, more by their
// count, noun ("files", "directories") and the directory they share
// ("9 directories under /var/hvmail"); "" for none.
func pathWords(paths []string, noun string) string {
	var clean []string
	for _, p := range paths {
		if p = strings.TrimSpace(p); p != "" {
			clean = append(clean, p)
		}
	}
	if len(clean) <= 2 {
		return andList(clean)
	}
	common := path.Dir(path.Clean(clean[0]))
	for _, p := range clean[1:] {
		for common != "/" && common != "." && !strings.HasPrefix(path.Clean(p), common+"/") {
			common = path.Dir(common)
		}
	}
	if common == "/" || common == "." {
		return fmt.Sprintf("%s, %s and %d more", clean[0], clean[1], len(clean)-2)
	}
	return fmt.Sprintf("%d %s under %s", len(clean), noun, common)
}

// andList joins words as a sentence lists them: "a", "a and b",
// "a, b and c".
func andList(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
