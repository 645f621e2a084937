package wizard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"
)

// compileSchema compiles s with a draft 2020-12 validator, which also checks
// s against the draft's meta-schema.
func compileSchema(t *testing.T, s map[string]any) *jsonschema.Schema {
	t.Helper()
	b, err := MarshalSchema(s)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	const url = "file:///answers.schema.json"
	if err := c.AddResource(url, bytes.NewReader(b)); err != nil {
		t.Fatalf("the schema is not valid JSON: %v", err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("the schema does not compile as draft 2020-12: %#v", err)
	}
	return sch
}

// asJSONValue turns an answer set into the generic value a JSON Schema
// validator takes: what the file would hold as JSON.
func asJSONValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// sampleAnswer is a valid value for a question of type typ.
func sampleAnswer(q Question) string {
	switch q.Type {
	case "address", "ip":
		return "192.0.2.10"
	case "port":
		return "2222"
	case "yesno":
		return "no"
	case "path":
		return "/root/greenarrow-backup"
	case "ips":
		return "9.9.9.9, 149.112.112.112"
	case "email":
		return "postmaster@example.net"
	case "secret":
		return "s3cret word"
	case "choice":
		return q.Choices[0]
	}
	return "some text"
}

// fillTemplate fills in a template as an admin would: every empty value of
// a key some step always asks gets a valid value, and every commented-out
// step of the confirm and done lists is uncommented.
func fillTemplate(t *testing.T, rb *Runbook, tmpl []byte) []byte {
	t.Helper()
	text := string(tmpl)
	for _, k := range AnswerKeys(rb) {
		text = strings.Replace(text, "\n  "+k.Key+": \"\"\n", "\n  "+k.Key+": "+yamlQuote(sampleAnswer(k.Question))+"\n", 1)
	}
	var out []string
	list := ""
	for _, line := range strings.Split(text, "\n") {
		if strings.HasSuffix(line, ":") && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#") {
			list = strings.TrimSuffix(line, ":")
		}
		if (list == "confirm" || list == "done") && strings.HasPrefix(line, "  # - ") {
			line = "  - " + strings.TrimPrefix(line, "  # - ")
		}
		out = append(out, line)
	}
	return []byte(strings.Join(out, "\n"))
}

func TestAnswersSchemaIsValidAndHasEveryKey(t *testing.T) {
	var rbs []*Runbook
	for _, name := range []string{"greenarrow", "bluemind"} {
		rb, err := LoadRunbook(name)
		if err != nil {
			t.Fatal(err)
		}
		rbs = append(rbs, rb)
		s := AnswersSchema(rb)
		compileSchema(t, s)
		props := s["properties"].(map[string]any)
		var fields []string
		for f := range props {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		want := slices.Sorted(slices.Values(AnswerSetFields()))
		if !slices.Equal(fields, want) {
			t.Errorf("%s: the schema's fields %v, the answers file's %v", name, fields, want)
		}
		for _, f := range want {
			if FieldHelp(f) == "" {
				t.Errorf("field %s has no description", f)
			}
		}
		keys := props["answers"].(map[string]any)["properties"].(map[string]any)
		n := 0
		for _, st := range rb.Steps {
			for _, q := range st.Ask {
				if _, ok := keys[q.Key]; !ok {
					t.Errorf("%s: key %s (step %s) is not in the schema", name, q.Key, st.ID)
				}
			}
		}
		for range keys {
			n++
		}
		if n != len(AnswerKeys(rb)) {
			t.Errorf("%s: %d keys in the schema, %d in the runbook", name, n, len(AnswerKeys(rb)))
		}
	}
	compileSchema(t, AnswersSchemaAny(rbs))
}

func TestAnswersTemplateFilledInValidates(t *testing.T) {
	for _, name := range []string{"greenarrow", "bluemind"} {
		t.Run(name, func(t *testing.T) {
			rb, err := LoadRunbook(name)
			if err != nil {
				t.Fatal(err)
			}
			sch := compileSchema(t, AnswersSchema(rb))
			tmpl := AnswersTemplate(rb, nil)

			// As printed, it reads, but its empty values are refused, each
			// named.
			set, err := ParseAnswerSet("template.yaml", tmpl)
			if err != nil {
				t.Fatalf("the template does not read: %v\n%s", err, tmpl)
			}
			err = set.Validate(rb)
			for _, k := range AnswerKeys(rb) {
				if k.Always && k.Default == "" && (err == nil || !strings.Contains(err.Error(), "key "+k.Key+": expected ")) {
					t.Errorf("the unfilled template's %s is not refused by name: %v", k.Key, err)
				}
			}

			filled := fillTemplate(t, rb, tmpl)
			set, err = ParseAnswerSet("filled.yaml", filled)
			if err != nil {
				t.Fatalf("the filled template does not read: %v\n%s", err, filled)
			}
			if err := set.Validate(rb); err != nil {
				t.Fatalf("the filled template is refused: %v\n%s", err, filled)
			}
			for _, k := range AnswerKeys(rb) {
				if k.Always && !learnt(rb, k.Key) && set.Answers[k.Key] == "" {
					t.Errorf("the filled template has no value for %s", k.Key)
				}
				// What a step learns from the servers is left out: a
				// value there would replace it (ssh_port against the
				// Port of ~/.ssh/config).
				if learnt(rb, k.Key) && strings.Contains(string(tmpl), "\n  "+k.Key+": ") {
					t.Errorf("the template gives learnt key %s a value", k.Key)
				}
			}
			for _, s := range rb.Steps {
				if s.Destructive && !slices.Contains(set.Confirm, s.ID) {
					t.Errorf("destructive step %s is not in the template's confirm list", s.ID)
				}
				if s.Level == LevelManual && !slices.Contains(set.Done, s.ID) {
					t.Errorf("manual step %s is not in the template's done list", s.ID)
				}
			}
			if err := sch.Validate(asJSONValue(t, set)); err != nil {
				t.Errorf("the schema refuses the filled template: %v", err)
			}
			// The YAML document itself (quoted values) is what the schema
			// describes too.
			var doc any
			if err := yaml.Unmarshal(filled, &doc); err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(asJSONValue(t, doc)); err != nil {
				t.Errorf("the schema refuses the filled YAML document: %v", err)
			}
		})
	}
}

func TestBrokenAnswersAreRefusedNamingTheKey(t *testing.T) {
	rb, err := LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	sch := compileSchema(t, AnswersSchema(rb))
	cases := []struct {
		name, file string
		want       []string // in the error of Parse or Validate
		schemaOK   bool     // the schema alone lets it through
	}{
		{"relative path", `{"answers":{"backup_dir":"backup"}}`,
			[]string{`key backup_dir: expected an absolute path, got "backup"`}, false},
		{"unknown key", `{"answers":{"backp_dir":"/root/b"}}`,
			[]string{`key "backp_dir" is not a question of runbook greenarrow`, "nearest known key: backup_dir"}, false},
		{"unknown field", `{"answers":{},"confrm":["stop-old"]}`,
			[]string{`unknown field "confrm"`, "nearest known field: confirm"}, false},
		{"unknown field in YAML", "answers: {}\nrerun: [stop-old]\n",
			[]string{`filled.yaml:2: unknown field "rerun"`, "nearest known field: rerun_interrupted"}, false},
		{"unknown step", `{"confirm":["stop-od"]}`,
			[]string{`confirm: "stop-od" is not a step of runbook greenarrow`, "nearest step: stop-old"}, false},
		{"port out of range", `{"answers":{"ssh_port":"70000"}}`,
			[]string{`key ssh_port: expected a TCP port number from 1 to 65535, got "70000"`}, false},
		{"port as a list", `{"answers":{"ssh_port":[22]}}`,
			[]string{"filled.yaml:1: key ssh_port: expected a string (in quotes), got a JSON array"}, false},
		{"resolver twice", `{"answers":{"resolvers":"9.9.9.9 9.9.9.9"}}`,
			[]string{"key resolvers: expected 1 to 3 IP addresses", `"9.9.9.9" is listed twice`}, true},
		{"not a choice", "answers:\n  resolv_link_action: keep\n",
			[]string{`key resolv_link_action: expected one of replace, systemd-resolved, leave, got "keep"`}, false},
		{"not repeatable", `{"repeat":{"stop-old":2}}`,
			[]string{`repeat: "stop-old" is not a repeatable step`, "repeatable: migration-first-pass"}, false},
		{"short fingerprint", `{"trust_host_key":"SHA256"}`,
			[]string{`trust_host_key: expected a host key fingerprint`}, false},
		{"automatic step done by hand", `{"done":["stop-old"]}`,
			[]string{`done: "stop-old" is not a manual step of runbook greenarrow; ferry runs it`, "manual steps: backup-old"}, false},
		{"two problems", `{"answers":{"ip_change":"maybe","test_address":"root"}}`,
			[]string{`key ip_change: expected yes or no`, `key test_address: expected a plain e-mail address`}, false},
	}
	for _, c := range cases {
		set, err := ParseAnswerSet("filled.yaml", []byte(c.file))
		if err == nil {
			err = set.Validate(rb)
		}
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", c.name, err, w)
			}
		}
		var doc any
		if err := yaml.Unmarshal([]byte(c.file), &doc); err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(asJSONValue(t, doc)); (err == nil) != c.schemaOK {
			t.Errorf("%s: the schema says %v, want it to accept: %v", c.name, err, c.schemaOK)
		}
	}
	// Each problem is its own line.
	set, _ := ParseAnswerSet("x", []byte(`{"answers":{"ip_change":"maybe","test_address":"root"},"done":["nope"]}`))
	if err := set.Validate(rb); err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("three problems, not three lines: %v", err)
	}
}

func TestAnswerErrorNeverShowsASecret(t *testing.T) {
	err := ValidateAnswer(Question{Key: "db_password", Type: "secret"}, "   ")
	var ae *AnswerError
	if !errors.As(err, &ae) || ae.Key != "db_password" || ae.Got != "" {
		t.Fatalf("%#v", err)
	}
}

func TestYAMLAnswersReadAsJSONWould(t *testing.T) {
	y := "# a comment\nanswers:\n  ssh_port: 22\n  ip_change: no\nconfirm: [stop-old]\nrepeat:\n  migration-first-pass: 2\n"
	j := `{"answers":{"ssh_port":"22","ip_change":"no"},"confirm":["stop-old"],"repeat":{"migration-first-pass":2}}`
	a, err := ParseAnswerSet("a.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseAnswerSet("a.json", []byte(j))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(asJSONValue(t, a)) != fmt.Sprint(asJSONValue(t, b)) {
		t.Errorf("YAML %+v, JSON %+v", a, b)
	}
	_, err = ParseAnswerSet("a.yaml", []byte("answers:\n  ssh_port: 22\nrepeat:\n  migration-first-pass: two\n"))
	if err == nil || !regexp.MustCompile(`^answers file a\.yaml:4: field repeat\.migration-first-pass: expected a whole number, found a text \(two\)$`).MatchString(err.Error()) {
		t.Errorf("a YAML type error does not name the file, line and field in words: %v", err)
	}
}

func TestNearest(t *testing.T) {
	for _, c := range []struct{ w, want string }{
		{"backp_dir", "backup_dir"}, {"SSH_PORT", "ssh_port"}, {"x", "ssh_port"}, {"test-address", "test_address"},
	} {
		if got := Nearest(c.w, []string{"ssh_port", "backup_dir", "test_address"}); got != c.want {
			t.Errorf("Nearest(%q) = %q, want %q", c.w, got, c.want)
		}
	}
	if Nearest("a", nil) != "" {
		t.Error("nearest of nothing")
	}
}

// TestAnswerSetNamesEveryWrongType: every value of the wrong type is named
// with its line, JSON and YAML alike, and the fields that decode come back
// for a check that names what else is wrong (the wrong ones left empty).
func TestAnswerSetNamesEveryWrongType(t *testing.T) {
	files := map[string]string{
		"a.json": "{\"answers\": {\"ip_change\": \"no\"},\n \"confirm\": {\"x\": 1},\n \"repeat\": {\"migration-first-pass\": \"two\"},\n \"done\": [\"move-ips\"]}",
		"a.yaml": "answers:\n  ip_change: \"no\"\nconfirm:\n  x: 1\nrepeat:\n  migration-first-pass: two\ndone: [move-ips]\n",
	}
	for name, text := range files {
		set, err := ParseAnswerSet(name, []byte(text))
		if err == nil || set == nil {
			t.Fatalf("%s: set %v, err %v", name, set, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "field confirm: expected a list") || !strings.Contains(msg, "field repeat.migration-first-pass: expected a whole number") {
			t.Errorf("%s: not every wrong value is named:\n%s", name, msg)
		}
		if set.Answers["ip_change"] != "no" || !slices.Equal(set.Done, []string{"move-ips"}) || set.Confirm != nil || set.Repeat != nil {
			t.Errorf("%s: decoded %+v, want answers and done, confirm and repeat left empty", name, set)
		}
	}
}

// TestAnswerSetRepeatedNamesHideNothing: a key or field written twice is
// named with both lines, JSON and YAML alike, and every other finding of
// the file is still reported, each with the line to edit.
func TestAnswerSetRepeatedNamesHideNothing(t *testing.T) {
	rb, err := LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"a.yaml": "answers:\n  ssh_port: \"22\"\n  ssh_port: \"2222\"\n  backup_dir: rel\n  no_such_key: x\nconfirm: [stop-old, nosuchstep]\nskip:\n  move-ips: \"\"\n",
		"a.json": "{\"answers\": {\n  \"ssh_port\": \"22\",\n  \"ssh_port\": \"2222\",\n  \"backup_dir\": \"rel\",\n  \"no_such_key\": \"x\"},\n\"confirm\": [\"stop-old\", \"nosuchstep\"],\n\"skip\": {\n  \"move-ips\": \"\"}}",
	}
	for name, text := range files {
		set, err := ParseAnswerSet(name, []byte(text))
		if err == nil || set == nil {
			t.Fatalf("%s: set %v, err %v", name, set, err)
		}
		msg := errors.Join(err, set.Validate(rb)).Error()
		for _, want := range []string{
			name + ":3: key ssh_port is written twice (first at line 2)",
			name + ":4: key backup_dir: expected an absolute path",
			name + `:5: key "no_such_key" is not a question`,
			name + `:6: confirm: "nosuchstep" is not a step`,
			name + ":8: skip: move-ips needs a reason",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: the findings lack %q:\n%s", name, want, msg)
			}
		}
	}
	// A whole field written twice is named too.
	_, err = ParseAnswerSet("b.yaml", []byte("confirm: [stop-old]\ndone: []\nconfirm: [move-ips]\n"))
	if err == nil || !strings.Contains(err.Error(), "b.yaml:3: field confirm is written twice (first at line 1)") {
		t.Errorf("a repeated field: %v", err)
	}
}

// TestJSONAnswersOneWrongValueKeepsTheOthers: in a JSON file, an answer of
// the wrong type leaves the other answers decoded and checked.
func TestJSONAnswersOneWrongValueKeepsTheOthers(t *testing.T) {
	set, err := ParseAnswerSet("c.json", []byte("{\"answers\": {\"ssh_port\": [22],\n \"backup_dir\": \"/srv/backup\", \"ip_change\": false}}"))
	if err == nil || !strings.Contains(err.Error(), "c.json:1: key ssh_port: expected a string (in quotes), got a JSON array") {
		t.Fatalf("err %v", err)
	}
	// A number or true/false is its text, as in YAML.
	if set == nil || set.Answers["backup_dir"] != "/srv/backup" || set.Answers["ip_change"] != "false" || len(set.Answers) != 2 {
		t.Errorf("decoded %+v, want backup_dir and ip_change", set)
	}
	set, err = ParseAnswerSet("d.json", []byte(`{"answers": {"ssh_port": 2222, "ip_change": true}}`))
	if err != nil || set.Answers["ssh_port"] != "2222" || set.Answers["ip_change"] != "true" {
		t.Errorf("numbers and true/false as answers: %+v, %v", set, err)
	}
}

// TestAnswersCheckNamesEveryProblemInOneRound: an unknown field, a value
// of the wrong type, a list naming a step twice or holding an empty item,
// a step both skipped and confirmed or done, and a key or step of the
// other built-in runbook are all named at once, each with its line; a
// name far from every known one gets no "nearest" guess.
func TestAnswersCheckNamesEveryProblemInOneRound(t *testing.T) {
	rb, err := LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	file := "extra_field: 1\nanswers:\n  ip_change: maybe\n  ssh_port: [1]\n  backupdir: /x\n  db_password: x\n  zzzzzz: y\nconfirm:\n  - stop-old\n  - stop-old\n  -\n  - sync-spools-hot\ndone: [tell-vendor]\nskip:\n  tell-vendor: not needed\n  stop-old: later\n"
	set, perr := ParseAnswerSet("c.yaml", []byte(file))
	if perr == nil || set == nil {
		t.Fatalf("set %v, err %v", set, perr)
	}
	msg := errors.Join(perr, set.Validate(rb)).Error()
	for _, want := range []string{
		`c.yaml:1: unknown field "extra_field"`,
		`c.yaml:3: key ip_change: expected yes or no`,
		`c.yaml:4: key ssh_port: expected a text, found a list`,
		`c.yaml:5: key "backupdir" is not a question of runbook greenarrow (nearest known key: backup_dir)`,
		`c.yaml:6: key "db_password" is not a question of runbook greenarrow but of runbook bluemind: is --runbook right?`,
		`c.yaml:7: key "zzzzzz" is not a question of runbook greenarrow (ferry answers template --runbook greenarrow lists them)`,
		`c.yaml:9: confirm lists stop-old, which skip skips (line 16)`,
		`c.yaml:10: confirm lists stop-old twice (first at line 9)`,
		`c.yaml:11: confirm: an empty item`,
		`c.yaml:12: confirm: "sync-spools-hot" is not a step of runbook greenarrow but of runbook bluemind`,
		`c.yaml:13: done lists tell-vendor, which skip skips (line 15)`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the findings lack %q:\n%s", want, msg)
		}
	}
	for _, empty := range []string{"", "  \n", "# only a comment\n"} {
		if _, err := ParseAnswerSet("e.yaml", []byte(empty)); err == nil || !strings.Contains(err.Error(), "e.yaml: the file holds no field") {
			t.Errorf("%q: %v", empty, err)
		}
	}
}
