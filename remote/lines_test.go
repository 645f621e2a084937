package remote

import (
	"strings"
	"testing"
)

func TestLineWriter(t *testing.T) {
	var got []string
	w := LineWriter(func(l string) { got = append(got, l) })
	for _, chunk := range []string{
		"      1,024  10%  1.00MB/s    0:00:09\r",
		"     10,240 100%", "  1.00MB/s    0:00:00 (xfr#1, to-chk=0/1)\n",
		"\x1b[31mred\x1b[0m text\r\n",
		"\n\r\n",
		"no end",
	} {
		if n, err := w.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	want := []string{
		"      1,024  10%  1.00MB/s    0:00:09",
		"     10,240 100%  1.00MB/s    0:00:00 (xfr#1, to-chk=0/1)",
		"red text",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("before Flush: %q, want %q", got, want)
	}
	w.Flush()
	w.Flush()
	if len(got) != 4 || got[3] != "no end" {
		t.Fatalf("after Flush: %q", got)
	}
}

func TestLineWriterLongLine(t *testing.T) {
	var got []string
	w := LineWriter(func(l string) { got = append(got, l) })
	_, _ = w.Write([]byte(strings.Repeat("x", maxLine+10)))
	if len(got) != 1 || len(got[0]) != maxLine+10 {
		t.Fatalf("a line longer than %d bytes is held back: %d lines", maxLine, len(got))
	}
}
