package wizard

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"sync"
)

// StreamSecret is the output stream of lines that may be shown on ferry's
// own screen only (the repository access key read from the backup): the
// headless printer never prints them, and their values are then masked
// wherever else they would appear.
const StreamSecret = "secret"

// secretMask replaces a secret value in headless output.
const secretMask = "(secret)"

// minSecretLen is the shortest value the Redactor masks: shorter ones would
// mask ordinary words and numbers.
const minSecretLen = 4

// Redactor masks known secret values (secret answers, lines of the secret
// stream) in text and in JSON. It is safe for concurrent use.
type Redactor struct {
	mu   sync.Mutex
	vals []string
}

// Add records a secret value (white space around it is ignored); values
// shorter than 4 bytes are not recorded.
func (r *Redactor) Add(v string) {
	v = strings.TrimSpace(v)
	if len(v) < minSecretLen {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.vals {
		if x == v {
			return
		}
	}
	r.vals = append(r.vals, v)
	// Longest first, so that a secret holding another is masked whole.
	sort.Slice(r.vals, func(i, j int) bool { return len(r.vals[i]) > len(r.vals[j]) })
}

// String returns s with every recorded secret replaced by "(secret)".
func (r *Redactor) String(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.vals {
		s = strings.ReplaceAll(s, v, secretMask)
	}
	return s
}

// JSON returns the JSON text b with every recorded secret masked, as it is
// written inside a JSON string (escaped) and as it is.
func (r *Redactor) JSON(b []byte) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.vals {
		enc, _ := json.Marshal(v)
		enc = enc[1 : len(enc)-1]
		b = bytes.ReplaceAll(b, enc, []byte(secretMask))
		if !bytes.Equal(enc, []byte(v)) {
			b = bytes.ReplaceAll(b, []byte(v), []byte(secretMask))
		}
	}
	return b
}

// Event returns ev with every recorded secret masked in all its text (the
// message, command, answers, facts, questions, counters' notes ...): ev is
// put through JSON and masked there as JSON does it, so no field is
// forgotten. ev comes back as it was when it holds no secret. Should the
// masked text no longer read as an event (a secret that is a piece of the
// JSON syntax), only its sequence number, time, type and step are kept,
// with a note in place of the rest.
func (r *Redactor) Event(ev Event) Event {
	r.mu.Lock()
	none := len(r.vals) == 0
	r.mu.Unlock()
	if none {
		return ev
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return Event{Seq: ev.Seq, Time: ev.Time, Type: ev.Type, Step: r.String(ev.Step), Message: "(an event left out: it could not be checked for secrets)"}
	}
	masked := r.JSON(b)
	if bytes.Equal(masked, b) {
		return ev
	}
	var out Event
	if err := json.Unmarshal(masked, &out); err != nil || out.Type != ev.Type {
		return Event{Seq: ev.Seq, Time: ev.Time, Type: ev.Type, Step: r.String(ev.Step), Message: "(an event holding a secret, left out)"}
	}
	return out
}
