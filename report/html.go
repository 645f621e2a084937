package report

import (
	"html/template"
	"io"
	"sync"
)

// writeHTML renders the doc as one self-contained page: inline CSS, no
// scripts, no external assets. html/template escapes every value, so commands
// and messages holding "<" or "&" show as written.
func writeHTML(w io.Writer, d *doc) error {
	return page().Execute(w, d)
}

// page is the report's template, parsed on the first report written (not
// at start-up: every other command would pay for it, issue 13).
var page = sync.OnceValue(func() *template.Template { return template.Must(template.New("report").Parse(pageText)) })

const pageText = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Migration report: {{.Title}}</title>
<style>
body { background: #fff; color: #1a1a1a; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 78em; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .3em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.8em; }
h3 { font-size: 1.05em; margin-top: 1.3em; }
table { border-collapse: collapse; width: 100%; margin: .6em 0 1em; }
th, td { border: 1px solid #ccc; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td { white-space: pre-wrap; overflow-wrap: anywhere; }
table.kv th { width: 12em; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: .92em; }
.downtime { border: 3px solid #b00020; background: #fff4f4; padding: .8em 1.2em; margin: 1em 0; }
.downtime.closed { border-color: #1d6b2f; background: #f3fbf4; }
.downtime.none { border-color: #888; background: #f7f7f7; }
.downtime .big { font-size: 1.5em; font-weight: bold; margin: 0 0 .4em; }
.status-ok { color: #1d6b2f; }
.status-failed, .status-interrupted, .exit-bad { color: #b00020; font-weight: bold; }
.status-skipped, .muted { color: #555; }
.status-waiting { color: #8a5a00; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { page-break-after: avoid; }
  tr { page-break-inside: avoid; }
  .downtime { border-width: 2px; }
}
</style>
</head>
<body>
<h1>Migration report: {{.Title}}</h1>
<table class="kv">
<tr><th>Runbook</th><td>{{.Title}} (<code>{{.RunbookID}}</code>)</td></tr>
<tr><th>Runbook hash</th><td><code>{{.Hash}}</code>{{with .HashNote}} ({{.}}){{end}}</td></tr>
<tr><th>Began</th><td>{{.Began}}</td></tr>
<tr><th>Last changed</th><td>{{.Changed}}</td></tr>
<tr><th>Finished</th><td><strong>{{.Outcome}}</strong></td></tr>
<tr><th>Old server</th><td>{{.Old.Describe}}</td></tr>
<tr><th>New server</th><td>{{.New.Describe}}</td></tr>
</table>
<p class="muted">All times are UTC.</p>

<h2>Downtime window</h2>
<div class="downtime {{.Downtime.State}}">
<p class="big">{{.Downtime.Summary}}</p>
{{- if ne .Downtime.State "none"}}
<table class="kv">
<tr><th>Start</th><td>{{.Downtime.Start}}{{with .Downtime.StartStep}} ({{.}}){{end}}</td></tr>
<tr><th>End</th><td>{{if eq .Downtime.State "open"}}<strong>{{.Downtime.End}}</strong>{{else}}{{.Downtime.End}}{{with .Downtime.EndStep}} ({{.}}){{end}}{{end}}</td></tr>
<tr><th>Duration</th><td><strong>{{.Downtime.Duration}}</strong></td></tr>
{{- with .Downtime.Forecast}}
<tr><th>Forecast</th><td>{{.}}</td></tr>
{{- end}}
</table>
{{- with .Downtime.Spent}}
<p>Steps run during the downtime:</p>
<table>
<tr><th>Step</th><th>Took</th></tr>
{{- range .}}
<tr><td>{{.Key}}</td><td>{{.Value}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- end}}
</div>

<h2>Timeline</h2>
{{- if .Steps}}
<table>
<tr><th>#</th><th>Phase</th><th>Step</th><th>Status</th><th>Started</th><th>Ended</th><th>Took</th><th>Passes</th><th>Message</th></tr>
{{- range .Steps}}
<tr><td>{{.N}}</td><td>{{.Phase}}</td><td>{{with .Title}}{{.}}<br>{{end}}<code>{{.ID}}</code>{{if .Journal}}<br><span class="muted">not in the runbook; found in the journal</span>{{end}}</td><td class="status-{{.Class}}">{{.Symbol}} {{.Status}}</td><td>{{.Started}}</td><td>{{.Ended}}</td><td>{{.Took}}</td><td>{{.Passes}}</td><td>{{.Message}}</td></tr>
{{- end}}
</table>
{{- else}}
<p>None.</p>
{{- end}}

{{- with .Repeated}}
<h2>Passes of repeatable steps</h2>
{{- range .}}
<h3>{{.Title}}</h3>
<p>Prediction for the next pass: {{.Prediction}}.</p>
<table>
<tr><th>Pass</th><th>Started</th><th>Ended</th><th>Took</th><th>Status</th><th>Counters</th></tr>
{{- range .Runs}}
<tr><td>{{.N}}</td><td>{{.Started}}</td><td>{{.Ended}}</td><td>{{.Took}}</td><td>{{.Status}}</td><td>{{.Counters}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- end}}

<h2>Decisions</h2>
<h3>Confirmations of destructive steps</h3>
{{- if .Confirms}}
<table>
<tr><th>Time</th><th>Step</th><th>Who</th><th>What was typed</th></tr>
{{- range .Confirms}}
<tr><td>{{.Time}}</td><td>{{.Step}}</td><td>{{.Actor}}</td><td>{{.Typed}}</td></tr>
{{- end}}
</table>
{{- else}}
<p>None.</p>
{{- end}}
<h3>Skipped steps</h3>
{{- if .Skips}}
<table>
<tr><th>Time</th><th>Step</th><th>Who</th><th>Reason</th></tr>
{{- range .Skips}}
<tr><td>{{.Time}}</td><td>{{.Step}}</td><td>{{.Actor}}</td><td>{{.Reason}}</td></tr>
{{- end}}
</table>
{{- else}}
<p>None.</p>
{{- end}}
<h3>Gates overridden</h3>
{{- if .Overrides}}
<table>
<tr><th>Time</th><th>Step</th><th>Who</th><th>Reason</th></tr>
{{- range .Overrides}}
<tr><td>{{.Time}}</td><td>{{.Step}}</td><td>{{.Actor}}</td><td>{{.Reason}}</td></tr>
{{- end}}
</table>
{{- else}}
<p>None.</p>
{{- end}}
<h3>Answers given</h3>
{{- if .Answers}}
<table>
<tr><th>Time</th><th>Step</th><th>Who</th><th>Question</th><th>Answer as recorded</th></tr>
{{- range .Answers}}
<tr><td>{{.Time}}</td><td>{{.Step}}</td><td>{{.Actor}}</td><td><code>{{.Key}}</code></td><td>{{.Value}}</td></tr>
{{- end}}
</table>
{{- else}}
<p>None.</p>
{{- end}}
<h3>Steps done by hand or marked done</h3>
{{- if .Manual}}
<table>
<tr><th>Time</th><th>Step</th><th>Who</th><th>Message</th></tr>
{{- range .Manual}}
<tr><td>{{.Time}}</td><td>{{.Step}}</td><td>{{.Actor}}</td><td>{{.Message}}</td></tr>
{{- end}}
</table>
{{- else}}
<p>None.</p>
{{- end}}

<h2>Counters</h2>
{{- if .Counters}}
<table>
<tr><th>Step</th><th>Unit</th><th>Counted (last run)</th></tr>
{{- range .Counters}}
<tr><td>{{.Step}}</td><td>{{.Unit}}</td><td>{{.Amount}}</td></tr>
{{- end}}
</table>
{{- else}}
<p>None.</p>
{{- end}}

<h2>Warnings</h2>
{{- if .Warnings}}
<ul>
{{- range .Warnings}}
<li>{{.}}</li>
{{- end}}
</ul>
{{- else}}
<p>None.</p>
{{- end}}

<h2>Commands run</h2>
{{- if .Commands}}
<table>
<tr><th>Time</th><th>Step</th><th>Host</th><th>Command</th><th>Exit</th></tr>
{{- range .Commands}}
<tr><td>{{.Time}}</td><td>{{.Step}}</td><td>{{.Host}}</td><td><code>{{.Command}}</code></td><td{{if .Failed}} class="exit-bad"{{end}}>{{.Exit}}</td></tr>
{{- end}}
</table>
{{- else}}
<p>None.</p>
{{- end}}

<h2>Totals</h2>
<table class="kv">
{{- range .Totals}}
<tr><th>{{.Key}}</th><td>{{.Value}}</td></tr>
{{- end}}
</table>

<h2>Facts learnt</h2>
{{- if .Facts}}
<table class="kv">
{{- range .Facts}}
<tr><th><code>{{.Key}}</code></th><td>{{.Value}}</td></tr>
{{- end}}
</table>
{{- else}}
<p>None.</p>
{{- end}}

<h2>Run history</h2>
{{- if .History}}
<table>
<tr><th>Time</th><th>Event</th><th>Details</th></tr>
{{- range .History}}
<tr><td>{{.Time}}</td><td>{{.What}}</td><td>{{.Message}}</td></tr>
{{- end}}
</table>
{{- else}}
<p>None.</p>
{{- end}}
</body>
</html>
`
