package wizard

// A runbook is data: a YAML file listing the phases and steps of one vendor
// procedure. The types below are its schema; load.go reads and validates it.

// Levels say how much of a step ferry does by itself.
const (
	LevelAuto   = "auto"   // ferry runs it
	LevelAsk    = "ask"    // ferry asks, then runs it
	LevelManual = "manual" // ferry explains, the admin does it and confirms
	LevelCheck  = "check"  // a read-only test with pass/fail and a reason
)

// Hosts a step can run on.
const (
	HostOld = "old"
	HostNew = "new"
)

// Families of Linux distributions, as the procedures tell them apart.
const (
	FamilyAny    = "any"
	FamilyRHEL   = "rhel"
	FamilyDebian = "debian"
)

// Downtime markers.
const (
	DowntimeStart = "start"
	DowntimeEnd   = "end"
)

// Runbook is one vendor procedure.
type Runbook struct {
	// ID is the short name used on the command line ("greenarrow").
	ID    string `yaml:"id" json:"id"`
	Title string `yaml:"title" json:"title"`
	// Vendor names the vendor document the runbook implements.
	Vendor string `yaml:"vendor" json:"vendor"`
	// Summary is a paragraph on what the procedure does, in our words.
	Summary string `yaml:"summary" json:"summary,omitempty"`
	// Params are the vendor's thresholds and lists (minimum versions,
	// distributions where a rule applies ...). Templates read them as
	// .Params.NAME; task parameters may refer to them the same way.
	Params map[string]any `yaml:"params" json:"params,omitempty"`
	Phases []Phase        `yaml:"phases" json:"phases"`
	Steps  []Step         `yaml:"steps" json:"steps"`

	// File is where the runbook was read from ("builtin:greenarrow" or a
	// path); Hash is the SHA-256 of its bytes, recorded in the journal.
	File string `yaml:"-" json:"file"`
	Hash string `yaml:"-" json:"hash"`
}

// Phase groups steps on screen and in the checklist.
type Phase struct {
	ID    string `yaml:"id" json:"id"`
	Title string `yaml:"title" json:"title"`
	Help  string `yaml:"help" json:"help,omitempty"`
}

// Step is one thing to do, check or ask.
type Step struct {
	ID    string `yaml:"id" json:"id"`
	Phase string `yaml:"phase" json:"phase"`
	Title string `yaml:"title" json:"title"`
	// Help says what the step does, why, and what can go wrong.
	Help  string `yaml:"help" json:"help"`
	Host  string `yaml:"host" json:"host"`
	Level string `yaml:"level" json:"level"`
	// Kind names the task that carries the step out (see kinds.go), and
	// Params are that task's parameters. String parameters are templates.
	Kind   string         `yaml:"kind" json:"kind"`
	Params map[string]any `yaml:"params" json:"params,omitempty"`
	// Commands are what a step of kind "command" runs, per family: "any",
	// "rhel", "debian". No other kind has them (the loader refuses them):
	// what another step runs is built from its kind and parameters, and
	// shown and run from that one plan (Plan).
	Commands map[string][]Command `yaml:"commands" json:"commands,omitempty"`
	// Ask lists the answers the step needs before it can run.
	Ask []Question `yaml:"ask" json:"ask,omitempty"`
	// When is a template; the step applies only when it renders "true".
	// Empty means always. A step that does not apply is skipped with the
	// reason "does not apply".
	When string `yaml:"when" json:"when,omitempty"`

	Destructive bool `yaml:"destructive" json:"destructive"`
	SafeToRerun bool `yaml:"safe_to_rerun" json:"safe_to_rerun"`
	// Repeatable steps (hot passes) may be run again on purpose; each pass
	// is timed to predict the next.
	Repeatable bool `yaml:"repeatable" json:"repeatable,omitempty"`
	// Confirm is the word (a template) an admin types to let a destructive
	// step go ahead. Empty means the old server's name.
	Confirm string `yaml:"confirm" json:"confirm,omitempty"`

	// Precondition is checked before the step runs (and again right before
	// a destructive step runs); Success verifies the result.
	Precondition *Check `yaml:"precondition" json:"precondition,omitempty"`
	// Requires lists steps (ids of earlier steps) that must have passed
	// (status ok: not skipped, not failed) before this one runs, such as
	// the final tests before the old server is disarmed. The engine checks
	// the journal's statuses right before the step; an admin may go past
	// with a typed reason, which the journal and the report keep.
	Requires []string `yaml:"requires" json:"requires,omitempty"`
	// Redo names earlier steps (ids) whose work this step proves (the row
	// counts prove the restore): when it fails, the admin may run them
	// again, in order, and then this step (Decision ActRedo), instead of
	// retrying a proof that can only fail again.
	Redo    []string `yaml:"redo" json:"redo,omitempty"`
	Success *Check   `yaml:"success" json:"success,omitempty"`
	// Beside names earlier steps (ids) this step need not wait for: the
	// engine may start it while they still run, once every other earlier
	// step has ended (engine_group.go). Empty means the step waits for
	// every earlier one, as steps normally do. The loader allows it only
	// between automatic steps that change nothing the others read: neither
	// this step nor any it names may be destructive, manual, repeatable,
	// cut the admin's access or mark the downtime.
	Beside []string `yaml:"beside" json:"beside,omitempty"`

	// CutsAccess, when set, says what in the step can cut the admin's own
	// SSH access to the new server ("moving the IP addresses"). The loader
	// then adds the question LifelineKey to the step, and before the step
	// runs ferry says so and, as answered, keeps a spare sshd on another
	// port until the step ends (lifeline.go). Only steps on the new server.
	CutsAccess string `yaml:"cuts_access" json:"cuts_access,omitempty"`

	// Downtime is "start" when the step begins the downtime window and
	// "end" when it ends it.
	Downtime string `yaml:"downtime" json:"downtime,omitempty"`
	// Vendor points at the section of the vendor procedure this step
	// implements ("Migration Procedure, step 15").
	Vendor string `yaml:"vendor" json:"vendor"`

	// Line is the line of the step in its runbook file (for messages).
	Line int `yaml:"-" json:"-"`
}

// Check is a precondition or success test: a human sentence and, when ferry
// can test it itself, a check kind with its parameters.
type Check struct {
	Text   string         `yaml:"text" json:"text"`
	Kind   string         `yaml:"kind" json:"kind,omitempty"`
	Params map[string]any `yaml:"params" json:"params,omitempty"`
}

// Question is one answer a step needs.
type Question struct {
	// Key is where the answer is stored (.Answers.KEY in templates).
	Key    string `yaml:"key" json:"key"`
	Prompt string `yaml:"prompt" json:"prompt"`
	Help   string `yaml:"help" json:"help,omitempty"`
	// Type validates the answer: ip, port, path, email, hostname, yesno,
	// choice, text, ips (a list of IP addresses).
	Type    string   `yaml:"type" json:"type"`
	Default string   `yaml:"default" json:"default,omitempty"`
	Choices []string `yaml:"choices" json:"choices,omitempty"`
	// When is a template like Step.When: the question is asked only when it
	// renders "true".
	When string `yaml:"when" json:"when,omitempty"`
}

// Command is one command line: either an argv list (a YAML sequence) or a
// shell line (a YAML string), run with "sh -c" when executed.
type Command struct {
	Argv  []string `json:"argv,omitempty"`
	Shell string   `json:"shell,omitempty"`
}

// CommandsFor returns the commands of the step for a family: the family's
// own list if it has one, else the "any" list.
func (s *Step) CommandsFor(family string) []Command {
	if c, ok := s.Commands[family]; ok {
		return c
	}
	return s.Commands[FamilyAny]
}

// Families returns the families the step's commands differ by, in a fixed
// order: ["any"], or ["rhel", "debian"] (only those present).
func (s *Step) Families() []string {
	var out []string
	for _, f := range []string{FamilyRHEL, FamilyDebian} {
		if _, ok := s.Commands[f]; ok {
			out = append(out, f)
		}
	}
	if len(out) == 0 && len(s.Commands[FamilyAny]) > 0 {
		out = []string{FamilyAny}
	}
	return out
}

// StepIDs returns the ids of the runbook's steps in their order; nil for
// a nil runbook.
func (rb *Runbook) StepIDs() []string {
	if rb == nil {
		return nil
	}
	ids := make([]string, 0, len(rb.Steps))
	for _, s := range rb.Steps {
		ids = append(ids, s.ID)
	}
	return ids
}

// Step returns the step with the given id, or nil.
func (rb *Runbook) Step(id string) *Step {
	for i := range rb.Steps {
		if rb.Steps[i].ID == id {
			return &rb.Steps[i]
		}
	}
	return nil
}

// Phase returns the phase with the given id, or nil.
func (rb *Runbook) Phase(id string) *Phase {
	for i := range rb.Phases {
		if rb.Phases[i].ID == id {
			return &rb.Phases[i]
		}
	}
	return nil
}
