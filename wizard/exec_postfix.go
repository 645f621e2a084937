package wizard

import (
	"context"
	"errors"
	"fmt"
	"github.com/dustin/go-humanize/english"
	"strings"

	"github.com/ferry-migrate/ferry/tasks"
)

// The postfix-maps kind proves that the new server's Postfix can use the
// lookup tables copied from the old one (tasks.CheckPostfixMaps): the table
// types it supports (postconf -m), the type main.cf gives each table
// (postconf -n), one lookup per table of the first entry of its text
// source (postmap -q), and with rebuild a failing table built again from
// its source. Every table it cannot use is named at once.
//
// Parameters: maps (the tables' runbook paths without suffix, as main.cf
// names them), source_suffix (the text source of a table is its path plus
// this; default "" as in a stock Postfix, "-flat" for BlueMind),
// default_type (the type of a table main.cf does not name; default hash),
// rebuild (yes: build a failing table again from its source).

// postfixMapsOptions builds the proof's options from the step's parameters.
func postfixMapsOptions(x *TaskExecutor, p params) tasks.PostfixMapsOptions {
	o := tasks.PostfixMapsOptions{Host: x.New, DefaultType: p.str("default_type"), Rebuild: p.bool("rebuild")}
	for _, t := range p.list("maps") {
		o.Maps = append(o.Maps, tasks.PostfixMap{Table: t, Source: t + p.str("source_suffix")})
	}
	return o
}

func runPostfixMaps(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	rp, err := tasks.CheckPostfixMaps(ctx, postfixMapsOptions(x, p), env.Report)
	var o Outcome
	for i, argv := range rp.Commands {
		o.Commands = append(o.Commands, CommandRecord{Host: x.New.Name(), Command: tasks.CommandSpec{Argv: argv}.Display(), Exit: rp.Exits[i]})
	}
	var pe *tasks.PostfixMapsError
	if errors.As(err, &pe) {
		return o, failed("%v", err)
	}
	if err != nil {
		return o, err
	}
	var rebuilt []string
	for _, r := range rp.Results {
		if r.Rebuilt {
			rebuilt = append(rebuilt, r.Map.Table)
		}
	}
	o.Message = "Postfix on the new server reads all " + english.Plural(len(rp.Results), "table", "")
	if len(rebuilt) > 0 {
		o.Message += fmt.Sprintf(", %d after a rebuild from the source (%s)", len(rebuilt), strings.Join(rebuilt, ", "))
	}
	return o, nil
}

func planPostfixMaps(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	o := postfixMapsOptions(&TaskExecutor{}, p)
	// One word, as main.cf's TYPE:PATH is (the type postconf -n gives the table).
	typ := Placeholder("table_type")
	acts := []PlanAction{
		{Host: HostNew, Argv: tasks.PostconfTypesArgv, Probe: true},
		{Host: HostNew, Argv: tasks.PostconfSettingsArgv, Probe: true},
	}
	for _, m := range o.Maps {
		key := Placeholder("first key of " + m.Source)
		acts = append(acts, PlanAction{Host: HostNew, Argv: tasks.PostmapQueryArgv(typ, m.Table, key), Probe: true,
			Does: "the value must be the one " + m.Source + " gives"})
		if o.Rebuild {
			when := "only when the lookup fails"
			for _, argv := range tasks.RebuildArgvs(typ, Placeholder("suffix"), m) {
				acts = append(acts, PlanAction{Host: HostNew, Argv: argv, When: when})
			}
			acts = append(acts, PlanAction{Host: HostNew, Argv: tasks.PostmapQueryArgv(typ, m.Table, key), Probe: true, When: when})
		}
	}
	return acts, nil
}
