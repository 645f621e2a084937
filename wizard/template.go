package wizard

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"text/template"

	"al.essio.dev/pkg/shellescape"
)

// TemplateData is what runbook templates can read.
type TemplateData struct {
	Params  map[string]any
	Answers map[string]string
	Facts   map[string]string
	Family  string
}

var funcs = template.FuncMap{
	"truthy": Truthy,
	"join": func(sep string, v any) string {
		switch x := v.(type) {
		case []any:
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = fmt.Sprint(e)
			}
			return strings.Join(parts, sep)
		case []string:
			return strings.Join(x, sep)
		}
		return fmt.Sprint(v)
	},
}

// Truthy reports whether an answer means yes: yes, true, y, 1 (any case).
func Truthy(v any) bool {
	switch strings.ToLower(strings.TrimSpace(fmt.Sprint(v))) {
	case "yes", "true", "y", "1":
		return true
	}
	return false
}

// Render executes a runbook template. Missing keys render as empty strings;
// the loader refuses a runbook whose templates read a .Params or .Answers
// name it does not define (validator.checkTemplate), so what renders empty
// is only what is not known yet: a fact not found, a question not answered.
func Render(text string, data TemplateData) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, err := parsedTemplate(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return strings.ReplaceAll(b.String(), "<no value>", ""), nil
}

// maxParsedTemplates bounds parsed: a runbook has a few hundred templates
// (the built-in ones about 300); past the bound, further texts are parsed
// on every use and not kept.
const maxParsedTemplates = 4096

// parsed keeps each template text Render has parsed, so that a text is
// parsed once per process: loading a runbook renders every template once
// with sample data, and the checklist, the plan and the engine render the
// same texts again. A parsed template is only read when executed, so one
// may run in several goroutines at once.
var parsed struct {
	sync.Mutex
	m map[string]*template.Template
}

// parsedTemplate returns text parsed as a runbook template, from parsed
// when it was parsed before. A text that does not parse is not kept.
func parsedTemplate(text string) (*template.Template, error) {
	parsed.Lock()
	t, ok := parsed.m[text]
	parsed.Unlock()
	if ok {
		return t, nil
	}
	t, err := template.New("").Funcs(funcs).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, err
	}
	parsed.Lock()
	if parsed.m == nil {
		parsed.m = map[string]*template.Template{}
	}
	if len(parsed.m) < maxParsedTemplates {
		parsed.m[text] = t
	}
	parsed.Unlock()
	return t, nil
}

var wholeParam = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\{\{\s*\.Params\.([A-Za-z0-9_]+)\s*\}\}$`) })

// Resolve renders the templates in a parameter value. A string that is
// exactly one runbook parameter ("{{.Params.spools}}") becomes that
// parameter's value as it is, so a list stays a list; other strings render
// to strings; lists and maps are resolved element by element.
func Resolve(v any, data TemplateData) (any, error) {
	switch x := v.(type) {
	case string:
		if m := wholeParam().FindStringSubmatch(x); m != nil {
			if pv, ok := data.Params[m[1]]; ok {
				return Resolve(pv, data)
			}
		}
		return Render(x, data)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := Resolve(e, data)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := Resolve(e, data)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// SampleData is template data with every parameter of the runbook, and
// placeholder answers and facts, used to prove templates render.
func SampleData(rb *Runbook) TemplateData {
	answers := map[string]string{}
	for _, s := range rb.Steps {
		for _, q := range s.Ask {
			answers[q.Key] = "sample"
		}
	}
	return TemplateData{
		Params:  rb.Params,
		Answers: answers,
		Facts: map[string]string{
			"old_addr": "192.0.2.10", "old_name": "old.example.net", "family": FamilyRHEL,
			"old_family": FamilyRHEL, "new_family": FamilyRHEL, "cpus": "2", "dns_cache": "no",
		},
		Family: FamilyRHEL,
	}
}

func quoteArgv(argv []string) string { return shellescape.QuoteCommand(argv) }
