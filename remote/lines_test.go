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

func TestLineBytesWriter(t *testing.T) {
	var got []string
	w := LineBytesWriter(func(l []byte) { got = append(got, string(l)) })
	for _, chunk := range []string{
		"      1,024  10%  1.00MB/s    0:00:09\r     2,048",
		"  20%  1.00MB/s    0:00:08\r",
		"\x1b[31mred\x1b[0m text\r\n\n",
		"caf\xc3\xa9\n",
		"tail",
	} {
		if n, err := w.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	w.Flush()
	want := []string{
		"      1,024  10%  1.00MB/s    0:00:09",
		"     2,048  20%  1.00MB/s    0:00:08",
		"red text",
		"café",
		"tail",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestLineBytesWriterAllocs: splitting a block of printable records costs
// no allocation per record.
func TestLineBytesWriterAllocs(t *testing.T) {
	block := []byte(strings.Repeat("     60,076,980 100%   80.70MB/s    0:00:00 (xfr#12002, to-chk=0/12303)\r", 100))
	n := 0
	w := LineBytesWriter(func(l []byte) { n += len(l) })
	allocs := testing.AllocsPerRun(50, func() { _, _ = w.Write(block) })
	if allocs > 0 {
		t.Errorf("%.1f allocations per block of 100 records, want 0", allocs)
	}
	if n == 0 {
		t.Fatal("no line delivered")
	}
}
