package wizard

// validJSON reports whether b is one JSON value (RFC 8259), with white
// space allowed around it: what encoding/json.Valid reports, including its
// limit of 10,000 nested arrays and objects and its leniency about bytes
// of 0x80 and more inside strings (not checked as UTF-8). It is a
// hand-written scanner for the journal's reader, which checks every line
// whole: a few times faster than json.Valid's state machine, with no
// allocation. FuzzValidJSON holds it to json.Valid.
func validJSON(b []byte) bool {
	i := jsonValue(b, jsonSpace(b, 0), 0)
	return i >= 0 && jsonSpace(b, i) == len(b)
}

// maxJSONDepth is encoding/json's nesting limit (maxNestingDepth).
const maxJSONDepth = 10000

// jsonSpace returns the index of the first byte at or after i that is not
// JSON white space.
func jsonSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// jsonValue checks the value starting at b[i] and returns the index just
// after it, or -1 when there is no valid value there. depth is the number
// of arrays and objects it is inside.
func jsonValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; c {
	case '"':
		return jsonString(b, i)
	case '{':
		if depth >= maxJSONDepth {
			return -1
		}
		i = jsonSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return -1
			}
			if i = jsonString(b, i); i < 0 {
				return -1
			}
			i = jsonSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return -1
			}
			if i = jsonValue(b, jsonSpace(b, i+1), depth+1); i < 0 {
				return -1
			}
			i = jsonSpace(b, i)
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case ',':
				i = jsonSpace(b, i+1)
			case '}':
				return i + 1
			default:
				return -1
			}
		}
	case '[':
		if depth >= maxJSONDepth {
			return -1
		}
		i = jsonSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1
		}
		for {
			if i = jsonValue(b, i, depth+1); i < 0 {
				return -1
			}
			i = jsonSpace(b, i)
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case ',':
				i = jsonSpace(b, i+1)
			case ']':
				return i + 1
			default:
				return -1
			}
		}
	case 't':
		return jsonWord(b, i, "true")
	case 'f':
		return jsonWord(b, i, "false")
	case 'n':
		return jsonWord(b, i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return jsonNumber(b, i)
		}
		return -1
	}
}

func jsonWord(b []byte, i int, w string) int {
	if len(b)-i < len(w) || string(b[i:i+len(w)]) != w {
		return -1
	}
	return i + len(w)
}

// plainStringByte marks the bytes a string holds as they are: all but the
// quote, the backslash and the control characters below 0x20.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// jsonString checks the string whose opening quote is b[i] and returns the
// index after its closing quote, or -1.
func jsonString(b []byte, i int) int {
	i++
	for {
		for i < len(b) && plainStringByte[b[i]] {
			i++
		}
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i++
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(b)-i < 5 || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return -1
				}
				i += 5
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// jsonNumber checks the number at b[i] and returns the index after it, or
// -1: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func jsonNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i = jsonDigits(b, i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := jsonDigits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := jsonDigits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func jsonDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}
