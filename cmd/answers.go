package cmd

import (
	"cmp"
	"errors"
	"fmt"
	"github.com/dustin/go-humanize/english"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferry-migrate/ferry/assets"
	"github.com/ferry-migrate/ferry/checklist"
	"github.com/ferry-migrate/ferry/wizard"
)

// newAnswersCmd is "ferry answers": the answers file of a headless run,
// described (schema), started (template) and checked (check). Its format
// is documented in docs/answers.md.
func (a *app) newAnswersCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "answers",
		Short: "Write and check the answers file of a headless run",
		Long: strings.TrimSpace(`
A headless run (ferry run --headless --answers FILE) takes every answer,
confirmation and manual "done" from an answers file, JSON or YAML. These
commands print its JSON Schema, print a commented file to start from, and
check a file against a runbook without running anything (the same checks
ferry run makes before it starts).`),
		Example: `  ferry answers template --runbook greenarrow > answers.yaml
  ferry answers check --runbook greenarrow answers.yaml
  ferry answers schema --runbook bluemind > answers-bluemind.schema.json`,
		Args: cobra.NoArgs,
	}
	c.AddCommand(a.newAnswersSchemaCmd(), a.newAnswersTemplateCmd(), a.newAnswersCheckCmd())
	return c
}

func (a *app) newAnswersSchemaCmd() *cobra.Command {
	var rbName string
	c := &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema (draft 2020-12) of the answers file",
		Long: strings.TrimSpace(`
Prints the JSON Schema of an answers file for one runbook (--runbook), or,
without --runbook, one that accepts a file valid for any built-in runbook.
Editors and CI linters can use it; ferry answers check is the authority and
checks a little more (port ranges, a resolver listed twice ...).`),
		Args: cobra.NoArgs,
		RunE: a.action(func(*cobra.Command, []string) error {
			var s map[string]any
			if rbName != "" {
				rb, err := wizard.LoadRunbook(rbName)
				if err != nil {
					return err
				}
				s = wizard.AnswersSchema(rb)
			} else {
				var rbs []*wizard.Runbook
				for _, n := range assets.Names() {
					rb, err := wizard.LoadRunbook(n)
					if err != nil {
						return err
					}
					rbs = append(rbs, rb)
				}
				s = wizard.AnswersSchemaAny(rbs)
			}
			b, err := wizard.MarshalSchema(s)
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(b)
			return err
		}),
	}
	runbookFlag(c, &rbName)
	return c
}

func (a *app) newAnswersTemplateCmd() *cobra.Command {
	var rbName string
	c := &cobra.Command{
		Use:   "template",
		Short: "Print a commented answers file to start from (YAML)",
		Long: strings.TrimSpace(`
Prints an answers file for the runbook in YAML, every key and step list
explained in comments. Keys every run asks have a line to fill in (empty
values are refused until filled in); keys asked only under a condition,
and the destructive steps to confirm and manual steps to mark done, are
commented out: uncomment what applies.`),
		Args: cobra.NoArgs,
		RunE: a.action(func(*cobra.Command, []string) error {
			if rbName == "" {
				return usage(errors.New("--runbook is required: greenarrow, bluemind or a runbook file"))
			}
			rb, err := wizard.LoadRunbook(rbName)
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(wizard.AnswersTemplate(rb, checklist.WhenText))
			return err
		}),
	}
	runbookFlag(c, &rbName)
	return c
}

func (a *app) newAnswersCheckCmd() *cobra.Command {
	var rbName string
	c := &cobra.Command{
		Use:   "check FILE",
		Short: "Check an answers file against a runbook, running nothing",
		Long: strings.TrimSpace(`
Reads FILE (JSON or YAML) and checks it against the runbook as ferry run
does before it starts: every problem is printed on stderr, one per line,
naming the key or field, and the exit code is 2. A good file prints a
summary on stdout and exits 0.`),
		Args: cobra.ExactArgs(1),
		RunE: a.action(func(_ *cobra.Command, args []string) error {
			if rbName == "" {
				return usage(errors.New("--runbook is required: greenarrow, bluemind or a runbook file"))
			}
			rb, err := wizard.LoadRunbook(rbName)
			if err != nil {
				return err
			}
			set, err := wizard.ReadAnswerSet(args[0])
			if err != nil {
				if set != nil {
					// Values of the wrong type: what did decode is
					// checked too, so that every problem is printed.
					return usage(inFileOrder(args[0], errors.Join(err, set.Validate(rb))))
				}
				return usage(err)
			}
			if err := set.Validate(rb); err != nil {
				return usage(err)
			}
			fmt.Fprintf(a.stdout, "%s: good for runbook %s: %s, %s confirmed, %s done, %d skipped\n",
				args[0], rb.ID, english.Plural(len(set.Answers), "answer", ""), english.Plural(len(set.Confirm), "step", ""), english.Plural(len(set.Done), "manual step", ""), len(set.Skip))
			if missing := unansweredKeys(rb, set); len(missing) > 0 {
				fmt.Fprintf(a.stdout, "not given: %s (a headless run stops with exit 3 at a step that asks one of them when it is not known otherwise: --old gives old_addr, and ssh_port with HOST:PORT)\n", strings.Join(missing, ", "))
			}
			if manual, unconfirmed := openSteps(rb, set); len(manual)+len(unconfirmed) > 0 {
				var parts []string
				if len(manual) > 0 {
					parts = append(parts, "manual steps not listed in done: "+strings.Join(manual, ", "))
				}
				if len(unconfirmed) > 0 {
					parts = append(parts, "destructive steps not listed in confirm: "+strings.Join(unconfirmed, ", "))
				}
				fmt.Fprintf(a.stdout, "a headless run also stops with exit 3 at each of these that applies to the servers (list it, or in skip with a reason): %s\n", strings.Join(parts, "; "))
			}
			return nil
		}),
	}
	runbookFlag(c, &rbName)
	return c
}

// inFileOrder returns the findings joined in err (each "answers file
// FILE:LINE: …" or "answers file FILE: …") one per line in the order of
// their lines in file, those without a line last.
func inFileOrder(file string, err error) error {
	var flat []error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if e != nil {
			flat = append(flat, e)
		}
	}
	walk(err)
	line := func(e error) int {
		rest, ok := strings.CutPrefix(e.Error(), "answers file "+file+":")
		if !ok {
			return math.MaxInt
		}
		n, err := strconv.Atoi(rest[:strings.IndexFunc(rest+":", func(r rune) bool { return r < '0' || r > '9' })])
		if err != nil {
			return math.MaxInt
		}
		return n
	}
	slices.SortStableFunc(flat, func(a, b error) int { return cmp.Compare(line(a), line(b)) })
	return errors.Join(flat...)
}

// openSteps lists the steps of rb at which a headless run with set stops
// for a person: the manual steps set does not mark done, and the
// destructive steps it does not confirm (a destructive manual step needs
// both), leaving out the steps it skips. Whether a step applies to the
// servers (its platform condition) is not known here.
func openSteps(rb *wizard.Runbook, set *wizard.AnswerSet) (manual, unconfirmed []string) {
	for _, st := range rb.Steps {
		if _, skipped := set.Skip[st.ID]; skipped {
			continue
		}
		if st.Level == wizard.LevelManual && !slices.Contains(set.Done, st.ID) {
			manual = append(manual, st.ID)
		}
		if st.Destructive && !slices.Contains(set.Confirm, st.ID) {
			unconfirmed = append(unconfirmed, st.ID)
		}
	}
	return manual, unconfirmed
}

// unansweredKeys lists the question keys of rb that set does not answer:
// first those some step asks with no condition, then those asked only
// under a condition ("(sometimes asked)" after them); keys never asked
// with rb's settings are left out.
func unansweredKeys(rb *wizard.Runbook, set *wizard.AnswerSet) []string {
	var always, sometimes []string
	for _, k := range wizard.AnswerKeys(rb) {
		if _, ok := set.Answers[k.Key]; ok || len(k.Steps) == 0 {
			continue
		}
		if k.Always {
			always = append(always, k.Key)
		} else {
			sometimes = append(sometimes, k.Key+" (sometimes asked)")
		}
	}
	return append(always, sometimes...)
}
