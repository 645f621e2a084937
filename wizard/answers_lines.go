package wizard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// answerLines is where each entry of an answers file is written: the line
// (from 1) of a top-level field ("confirm"), of an entry of a mapping
// field ("answers.ssh_port", "skip.move-ips") and of an item of a list
// field ("confirm.stop-old"), so that Validate's findings name the line
// to edit. The first place wins when a name is written twice.
type answerLines map[string]int

// at is the line of the entry field.key (or of the field itself when key
// is ""); 0 when unknown.
func (l answerLines) at(field, key string) int {
	if key == "" {
		return l[field]
	}
	return l[field+"."+key]
}

// note records line for name unless a line is known already; it reports
// the line known before (0 when none).
func (l answerLines) note(name string, line int) int {
	if first, ok := l[name]; ok {
		return first
	}
	l[name] = line
	return 0
}

// repeatedWords names a field or entry written twice, for the error.
func repeatedWords(field, key string) string {
	switch {
	case key == "":
		return "field " + field
	case field == "answers":
		return "key " + key
	}
	return "field " + field + "." + key
}

// yamlAnswerLines records where each entry of the answers mapping doc is
// and takes out every key written a second time in a mapping (the top
// level and each mapping field), so that the rest still decodes and is
// checked; each repeat is an error naming its line and the first one.
// (yaml.v3 refuses a repeated key as one error for the whole mapping,
// which hid every other finding in the file.)
func yamlAnswerLines(name string, doc *yaml.Node) (answerLines, []error) {
	lines := answerLines{}
	var errs []error
	repeated := func(field, key string, line, first int) {
		errs = append(errs, writtenTwice(name, line, field, key, first))
	}
	dedupe := func(m *yaml.Node, record func(k, v *yaml.Node) (first int)) {
		kept := m.Content[:0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if record(k, v) > 0 {
				continue
			}
			kept = append(kept, k, v)
		}
		m.Content = kept
	}
	dedupe(doc, func(k, v *yaml.Node) int {
		field := k.Value
		if first := lines.note(field, k.Line); first > 0 {
			repeated(field, "", k.Line, first)
			return first
		}
		switch v.Kind {
		case yaml.MappingNode:
			dedupe(v, func(ek, _ *yaml.Node) int {
				first := lines.note(field+"."+ek.Value, ek.Line)
				if first > 0 {
					repeated(field, ek.Value, ek.Line, first)
				}
				return first
			})
		case yaml.SequenceNode:
			items := v.Content[:0]
			for _, item := range v.Content {
				if item.Kind != yaml.ScalarNode {
					items = append(items, item) // the decoder names it
					continue
				}
				if item.Tag == "!!null" || strings.TrimSpace(item.Value) == "" {
					errs = append(errs, emptyItem(name, item.Line, field))
					continue
				}
				if first := lines.note(field+"."+item.Value, item.Line); first > 0 {
					errs = append(errs, listedTwice(name, item.Line, field, item.Value, first))
					continue
				}
				items = append(items, item)
			}
			v.Content = items
		}
		return 0
	})
	return lines, errs
}

// jsonAnswerLines is yamlAnswerLines for the JSON answers file b, named
// file in errors: the line of each top-level field, of each entry of an
// object field and of each text item of a list field, and an error for
// each name written twice
// (encoding/json keeps the last one without a word). b has decoded
// already; a token it cannot read ends the scan with what was found.
func jsonAnswerLines(file string, b []byte) (answerLines, []error) {
	lines := answerLines{}
	var errs []error
	dec := json.NewDecoder(bytes.NewReader(b))
	lineAt := func(off int64) int {
		// InputOffset is just past the token; its line is that of its end.
		return 1 + bytes.Count(b[:min(int(off), len(b))], []byte("\n"))
	}
	// named records the name dec has just read, as field.key (the field
	// itself when key is ""), and names a repeat.
	named := func(field, key string) {
		line, name := lineAt(dec.InputOffset()), field
		if key != "" {
			name += "." + key
		}
		if first := lines.note(name, line); first > 0 {
			errs = append(errs, writtenTwice(file, line, field, key, first))
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return lines, nil
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return lines, errs
		}
		field, _ := kt.(string)
		named(field, "")
		vt, err := dec.Token()
		if err != nil {
			return lines, errs
		}
		switch vt {
		case json.Delim('{'):
			for dec.More() {
				et, err := dec.Token()
				if err != nil {
					return lines, errs
				}
				key, _ := et.(string)
				named(field, key)
				if skipJSONValue(dec) != nil {
					return lines, errs
				}
			}
			if _, err := dec.Token(); err != nil { // '}'
				return lines, errs
			}
		case json.Delim('['):
			for dec.More() {
				it, err := dec.Token()
				if err != nil {
					return lines, errs
				}
				switch it := it.(type) {
				case string:
					line := lineAt(dec.InputOffset())
					if strings.TrimSpace(it) == "" {
						errs = append(errs, emptyItem(file, line, field))
					} else if first := lines.note(field+"."+it, line); first > 0 {
						errs = append(errs, listedTwice(file, line, field, it, first))
					}
				case nil:
					errs = append(errs, emptyItem(file, lineAt(dec.InputOffset()), field))
				case json.Delim:
					if skipJSONRest(dec) != nil {
						return lines, errs
					}
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return lines, errs
			}
		}
	}
	return lines, errs
}

// writtenTwice is the error for the field, or its entry key, written a
// second time at line (first at line first).
func writtenTwice(file string, line int, field, key string, first int) error {
	return fmt.Errorf("answers file %s:%d: %s is written twice (first at line %d); write it once", file, line, repeatedWords(field, key), first)
}

// emptyItem is the error for an empty item (or null) in the list field.
func emptyItem(file string, line int, field string) error {
	return fmt.Errorf("answers file %s:%d: %s: an empty item; write a step id or remove the line", file, line, field)
}

// listedTwice is the error for a list field naming id a second time.
func listedTwice(file string, line int, field, id string, first int) error {
	return fmt.Errorf("answers file %s:%d: %s lists %s twice (first at line %d); write it once", file, line, field, id, first)
}

// skipJSONValue reads one whole value from dec.
func skipJSONValue(dec *json.Decoder) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if _, ok := t.(json.Delim); ok {
		return skipJSONRest(dec)
	}
	return nil
}

// skipJSONRest reads the rest of an object or array whose opening
// delimiter dec has just returned, closing delimiter included.
func skipJSONRest(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

// where is the "answers file NAME:LINE: " prefix of a finding about the
// entry field.key of a (the field itself when key is ""): the line when
// the file said where the entry is, the file's name when it was read from
// one.
func (a *AnswerSet) where(field, key string) string {
	if a.source == "" {
		return "answers file: "
	}
	if line := a.lines.at(field, key); line > 0 {
		return fmt.Sprintf("answers file %s:%d: ", a.source, line)
	}
	return "answers file " + a.source + ": "
}
