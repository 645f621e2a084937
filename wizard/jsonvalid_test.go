package wizard

import (
	"encoding/json"
	"strings"
	"testing"
)

// jsonValidCases are texts on every side of JSON's grammar.
var jsonValidCases = []string{
	``, ` `, `{}`, ` {} `, `[]`, `[1,2]`, `[1,]`, `[,1]`, `{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`,
	`"x"`, `"\x"`, `"\u00e9"`, `"\u00g9"`, `"\u00e"`, `"tab	in"`, "\"nl\nin\"", `"\"\\\/\b\f\n\r\t"`, "\"\xff\xfe\"", `"unterminated`,
	`0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-`, `1e`, `-1.5e-10`, `1.5.5`, `+1`, `0x10`,
	`true`, `tru`, `truex`, `false`, `null`, `nul`, `NULL`, `{"seq":1,"time":"2026-11-30T18:00:00Z","type":"command","exit":0}`,
	`{"seq":1}{"seq":2}`, `{"seq":1} x`, `[[[]]]`, `[[[]]`, `{"a":{"b":[true,false,null,"s",1]}}`, "\t[ 1 , 2 ]\r\n",
}

// TestValidJSONAgreesWithEncodingJSON: validJSON says what json.Valid says,
// on texts at the edges of the grammar and at the nesting limit.
func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	cases := append([]string(nil), jsonValidCases...)
	for _, n := range []int{9999, 10000, 10001} {
		cases = append(cases, strings.Repeat("[", n)+strings.Repeat("]", n), strings.Repeat(`{"a":`, n)+"1"+strings.Repeat("}", n))
	}
	valid := 0
	for _, c := range cases {
		want := json.Valid([]byte(c))
		if got := validJSON([]byte(c)); got != want {
			t.Errorf("validJSON(%.60q) = %v, json.Valid says %v", c, got, want)
		}
		if want {
			valid++
		}
	}
	if valid == 0 || valid == len(cases) {
		t.Fatalf("%d of %d cases valid: the cases do not test both sides", valid, len(cases))
	}
}

// FuzzValidJSON: validJSON and json.Valid agree on any bytes.
func FuzzValidJSON(f *testing.F) {
	for _, c := range jsonValidCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

// BenchmarkValidJSON: validJSON against json.Valid on a command event line.
func BenchmarkValidJSON(b *testing.B) {
	line := []byte(`{"seq":12345,"time":"2026-11-30T18:00:00.123456789Z","type":"command","step":"sync-spools-hot","host":"old","command":"find /var/hvmail/queue/old/mess/7 -type f -print0","exit":0}`)
	b.Run("validJSON", func(b *testing.B) {
		for b.Loop() {
			validJSON(line)
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		for b.Loop() {
			json.Valid(line)
		}
	})
}
