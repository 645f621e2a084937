package cmd

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"
)

// sayf prints a line of ferry's own on stderr (what follows a run: where
// the migration stands, the command that goes on), wrapped at spaces to
// the terminal's width when stderr is a terminal, so that the terminal
// does not break a path or a command at its right edge ("--state-dir
// /tmp/rv1/bm/s" then "tate"). To a pipe or a file the line is written
// whole, as before.
func (a *app) sayf(format string, args ...any) {
	fmt.Fprintln(a.stderr, wrapForTerminal(a.stderr, fmt.Sprintf(format, args...)))
}

// wrapForTerminal wraps msg for the terminal w is (see wrapAtSpaces); msg
// as it is when w is no terminal or its width is not known.
func wrapForTerminal(w io.Writer, msg string) string {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(f.Fd()) {
		return msg
	}
	width, _, err := term.GetSize(f.Fd())
	if err != nil {
		return msg
	}
	return wrapAtSpaces(msg, width)
}

// wrapAtSpaces wraps each line of msg at spaces only, to lines of at most
// width cells (a hyphen is no place to break a command line at); a word
// longer than a line keeps a line of its own, for the terminal to break.
// Below 20 columns msg is left as it is.
func wrapAtSpaces(msg string, width int) string {
	if width < 20 {
		return msg
	}
	var out []string
	for _, line := range strings.Split(msg, "\n") {
		cur := ""
		for _, word := range keepCommands(strings.Split(line, " "), width) {
			switch {
			case cur == "":
				cur = word
			case ansi.StringWidth(cur)+1+ansi.StringWidth(word) <= width:
				cur += " " + word
			default:
				out = append(out, cur)
				cur = word
			}
		}
		out = append(out, cur)
	}
	return strings.ReplaceAll(strings.Join(out, "\n"), "\x00", " ")
}

// keepCommands joins the words of a ferry command line ("ferry report
// --state-dir /x", up to a word ending with ";", "," or ")" or the line's
// end) into one word (its spaces held as NUL until wrapAtSpaces is done),
// when it fits in a line of width, so that a command to copy is never
// broken in two.
func keepCommands(words []string, width int) []string {
	var out []string
	for i := 0; i < len(words); i++ {
		if words[i] != "ferry" || i+1 >= len(words) || strings.HasSuffix(words[i+1], ":") {
			out = append(out, words[i])
			continue
		}
		j := i
		for j+1 < len(words) && !strings.ContainsAny(words[j][len(words[j])-min(1, len(words[j])):], ";,)") {
			j++
		}
		cmd := strings.Join(words[i:j+1], "\x00")
		if ansi.StringWidth(cmd) > width {
			out = append(out, words[i])
			continue
		}
		out = append(out, cmd)
		i = j
	}
	return out
}
