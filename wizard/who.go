package wizard

import (
	"os/user"
	"strings"
)

// Who names the person at the keyboard for the journal and the report:
// the login that ran sudo (SUDO_USER) when there is one, else the user
// (USER, LOGNAME, then the account of the process), and, when the session
// came over SSH, the client's address (the first field of SSH_CONNECTION
// or SSH_CLIENT, as sshd sets them; sshd(8), ENVIRONMENT). getenv is
// os.Getenv outside tests. Examples: "alice via sudo from 198.51.100.7",
// "root from 2001:db8::1", "root".
func Who(getenv func(string) string) string {
	name, via := getenv("SUDO_USER"), ""
	if name != "" && name != "root" {
		via = " via sudo"
	}
	for _, k := range []string{"USER", "LOGNAME"} {
		if name == "" {
			name = getenv(k)
		}
	}
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name == "" {
		name = "unknown user"
	}
	who := name + via
	for _, k := range []string{"SSH_CONNECTION", "SSH_CLIENT"} {
		if f := strings.Fields(getenv(k)); len(f) > 0 {
			return who + " from " + f[0]
		}
	}
	return who
}

// AnswersFileActor is how the journal names decisions taken from the
// answers file at path by a headless run that who started.
func AnswersFileActor(path, who string) string {
	s := "answers file"
	if path != "" {
		s += " " + path
	}
	if who != "" {
		s += " (run by " + who + ")"
	}
	return s
}
