package tui

import (
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/wizard"
)

// RunOptions is what the guided-run screen is built from.
type RunOptions struct {
	Runbook *wizard.Runbook
	// State is the state at start (from the journal): statuses, facts and
	// the pass history of repeatable steps. It may be nil.
	State *wizard.State
	// Events carries the engine's events. The engine's side closes it when
	// its Run has returned.
	Events <-chan wizard.Event
	// Decide sends a decision to the engine. It is called from Update, so
	// it must not block (wizard.Engine.Decide does not).
	Decide func(wizard.Decision)
	// Interrupt, when set, is called when the admin chooses to quit while a
	// step runs (typically the cancel function of the engine's context);
	// the screen then waits for Events to close before it quits. When nil,
	// the program quits at once with tea.ErrInterrupted and the caller
	// cancels the engine.
	Interrupt func()
	// OldName and NewName label the hosts ("mail-old.example.net (old)").
	OldName, NewName string
	// Started is when the migration began (its first journal event), for
	// the total clock. Zero means State.Started.
	Started time.Time
	// Now is the clock used for everything shown (elapsed times); nil
	// means time.Now. Tests fix it for golden files.
	Now func() time.Time
	// Note, when set, is shown above every question the engine puts (the
	// demo says there what to answer).
	Note string
	// Detached says the engine runs in a runner detached from this
	// terminal (pid RunnerPID): closing the terminal stops nothing, and
	// the screen can leave without stopping the run. ReadOnly marks an
	// observer, whose decisions the runner refuses.
	Detached  bool
	ReadOnly  bool
	RunnerPID int
	// Again is the command line that goes on with this migration once the
	// run has ended (runner.Welcome.Command), named in the closing words;
	// "" says "run ferry again".
	Again string
}

// RunModel is the guided-run screen: the steps of the runbook grouped by
// phase on the left, the current step on the right (its help, commands,
// counters, output and whatever the engine waits for), key help and clocks
// at the bottom. It only renders the engine's events and sends the admin's
// decisions back.
//
// Run it with tea.NewProgram(m, tea.WithFPS(15)): the engine may send many
// thousands of output lines a second, Update only appends them to a bounded
// ring, and the view is redrawn at most about 15 times a second.
type RunModel struct {
	o      RunOptions
	rb     *wizard.Runbook
	styles runStyles
	keys   runKeys
	isDark bool

	width, height int
	rows          []runRow
	stepIndex     map[string]int

	status   map[string]wizard.Status
	passes   map[string][]time.Duration
	passNo   map[string]int
	started  map[string]time.Time
	took     map[string]time.Duration
	message  map[string]string
	warning  map[string]string
	progress map[string]*tasks.Progress
	logs     map[string]*lineRing
	facts    map[string]string
	answers  map[string]string
	// overridden holds, per step, who went past its gate and why.
	overridden map[string]string
	// personSkips holds the steps a person (not ferry, for a step that
	// does not apply) skipped.
	personSkips map[string]bool
	cmdCache    map[string]stepPlan // each step's plan with what is known
	current     string              // the step shown on the right
	running     string              // the step running now, "" when none
	downStart   time.Time
	downEnd     time.Time

	waiting *wizard.Event // what the engine waits for, nil when nothing
	prompt  promptMode
	form    *huh.Form
	formSt  *formState
	input   textinput.Model
	inErr   string
	choice  int // the highlighted button of a repeat prompt
	// reasonFor is what the reason being typed is for: ActSkip or
	// ActOverride.
	reasonFor wizard.Action
	sent      wizard.Action

	overlay overlayMode
	logView viewport.Model
	// recordView shows the whole record of recordStep (overlayRecord).
	recordView viewport.Model
	recordStep string
	// cmdScroll is how many lines of the "What runs" section are scrolled
	// past; cmdRows how many it showed last time; cmdFor the step they
	// belong to (the scroll starts at the top for each step).
	cmdScroll, cmdRows int
	cmdFor             string
	// helpScroll is how far the help overlay is scrolled.
	helpScroll int
	// notice is the runner's last word to this screen (control taken by
	// another client, a decision refused to an observer).
	notice string
	// lifeline is the running spare sshd, as its lifeline_up event says
	// ("spare sshd on port 2222 until this step ends ..."); "" when none.
	lifeline  string
	outScroll int // lines scrolled up from the end of the output pane
	outRows   int // output lines the pane showed last time
	bar       progress.Model

	// fcScroll is how many items of the downtime forecast's details are
	// scrolled off the top for step fcFor; fcRows is how many items the
	// pane showed last time (0: all fitted).
	fcScroll, fcRows int
	fcFor            string

	quitAsk  bool
	stopping bool
	closed   bool
	finished *wizard.Event

	// Render cache: output lines only mark the log stale; the frame is
	// rebuilt at most every frameEvery for them (a frame tick makes sure
	// the last lines get drawn), at once for anything else.
	frame     string
	dirty     bool
	logStale  bool
	lastFrame time.Time
	tickArmed bool
	// progStale says counters arrived since the last frame; a
	// runProgressMsg (progTickArmed while one is due) redraws them.
	progStale     bool
	progTickArmed bool

	// What a frame draws that changes seldom is kept between frames with
	// the key it was drawn for (listLines, commandLines, stepHelp): while a
	// transfer runs, only the counters, the clock and the output change.
	// stylesGen counts the colour changes (setStyles), part of every key.
	stylesGen   int
	listKey     []byte // the key listCache was drawn for
	listScratch []byte // where the next key is made
	listCache   []string
	helpFor     helpKey
	helpCache   []string
}

// helpKey is what a step's help lines depend on.
type helpKey struct {
	step         string
	width, style int
}

var _ tea.Model = (*RunModel)(nil)

// runLogLines is how many output lines are kept per step.
const runLogLines = 500

// frameEvery is the shortest time between two renders caused by output.
const frameEvery = time.Second / 15

// progressEvery is the shortest time between two renders caused by
// progress alone: the engine sends counters ten times a second, and each
// redraw of the screen costs the terminal renderer most of a frame's work
// (issue 13); five times a second still reads as live.
const progressEvery = time.Second / 5

// runProgressMsg redraws counters that arrived since the last frame.
type runProgressMsg struct{}

// eventBatch is how many waiting events one message carries at most.
const eventBatch = 256

type promptMode int

const (
	promptNone    promptMode = iota
	promptForm               // a huh form for answers
	promptConfirm            // typing the confirmation word
	promptReason             // typing why a step is skipped
	promptDone               // d pressed at a manual step: y or enter says it is done
)

type overlayMode int

const (
	overlayNone overlayMode = iota
	overlayHelp
	overlayLog
	overlayRecord // the whole record of one step (run_record.go)
)

// runRow is one line of the step list: a phase title (step < 0) or a step
// (an index into Runbook.Steps).
type runRow struct {
	phase string
	step  int
}

// Messages of the run screen.
type (
	// runEventsMsg carries one or more engine events; closed reports that
	// the channel was closed after them.
	runEventsMsg struct {
		events []wizard.Event
		closed bool
	}
	runFrameMsg struct{}
	runClockMsg struct{}
)

// runKeys are the key bindings of the run screen.
type runKeys struct {
	Log, Help, Quit, Cancel, Back, View key.Binding
	PageUp, PageDown, Up, Down          key.Binding
	Top, Bottom                         key.Binding
	Retry, Skip, Done, Continue, Enter  key.Binding
	Yes, No, Left, Right, Type          key.Binding
}

func defaultRunKeys() runKeys {
	b := func(keys []string, k, help string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, help))
	}
	return runKeys{
		Log:      b([]string{"l"}, "l", "full log"),
		View:     b([]string{"v"}, "v", "the whole step"),
		Help:     b([]string{"?"}, "?", "help"),
		Quit:     b([]string{"q"}, "q", "quit"),
		Cancel:   b([]string{"ctrl+c"}, "ctrl+c", "quit"),
		Back:     b([]string{"esc"}, "esc", "back"),
		PageUp:   b([]string{"pgup", "b"}, "pgup", "scroll up"),
		PageDown: b([]string{"pgdown", "f"}, "pgdn", "scroll down"),
		Up:       b([]string{"up", "k"}, "↑", "up"),
		Down:     b([]string{"down", "j"}, "↓", "down"),
		Top:      b([]string{"home", "g"}, "home", "top"),
		Bottom:   b([]string{"end", "G"}, "end", "bottom"),
		Retry:    b([]string{"r"}, "r", "retry"),
		Skip:     b([]string{"s"}, "s", "skip"),
		Done:     b([]string{"d"}, "d", "done"),
		Continue: b([]string{"c"}, "c", "continue"),
		Enter:    b([]string{"enter"}, "enter", "choose"),
		Yes:      b([]string{"y"}, "y", "yes"),
		No:       b([]string{"n"}, "n", "no"),
		Left:     b([]string{"left", "h", "shift+tab"}, "←", "left"),
		Right:    b([]string{"right", "tab"}, "→", "right"),
		Type:     b([]string{"i", "enter"}, "i", "type"),
	}
}

// NewRun returns the guided-run screen for o.
func NewRun(o RunOptions) *RunModel {
	if o.Now == nil {
		o.Now = time.Now
	}
	rb := o.Runbook
	if rb == nil {
		rb = &wizard.Runbook{}
	}
	m := &RunModel{
		o: o, rb: rb, keys: defaultRunKeys(), isDark: true,
		stepIndex:   map[string]int{},
		status:      map[string]wizard.Status{},
		passes:      map[string][]time.Duration{},
		passNo:      map[string]int{},
		started:     map[string]time.Time{},
		took:        map[string]time.Duration{},
		message:     map[string]string{},
		warning:     map[string]string{},
		progress:    map[string]*tasks.Progress{},
		logs:        map[string]*lineRing{},
		facts:       map[string]string{},
		answers:     map[string]string{},
		overridden:  map[string]string{},
		personSkips: map[string]bool{},
		dirty:       true,
		input:       textinput.New(),
	}
	m.setStyles(true)
	m.buildRows()
	if st := o.State; st != nil {
		for id, r := range st.Steps {
			m.status[id] = r.Status
			m.passes[id] = append([]time.Duration(nil), r.Passes...)
			m.message[id] = r.Message
			if r.Override != "" {
				m.overridden[id] = orText(r.Overrider, "someone") + ": " + r.Override
			}
			if r.Counters != nil {
				c := *r.Counters
				m.progress[id] = &c
			}
		}
		for k, v := range st.Facts {
			m.facts[k] = v
		}
		for _, ev := range st.Events {
			m.notePersonSkip(&ev)
		}
		for k, v := range st.Answers {
			m.answers[k] = v
		}
		m.downStart, m.downEnd = st.DowntimeStart, st.DowntimeEnd
		if m.o.Started.IsZero() {
			m.o.Started = st.Started
		}
	}
	// Until the engine says otherwise, show the first step not done.
	for _, s := range rb.Steps {
		if !m.status[s.ID].Done() {
			m.current = s.ID
			break
		}
	}
	m.logView = viewport.New()
	m.logView.SoftWrap = true
	m.recordView = viewport.New()
	return m
}

func (m *RunModel) buildRows() {
	seen := map[string]bool{}
	add := func(phase string) {
		first := true
		for i, s := range m.rb.Steps {
			if s.Phase != phase {
				continue
			}
			if first {
				m.rows = append(m.rows, runRow{phase: phase, step: -1})
				first = false
			}
			m.rows = append(m.rows, runRow{phase: phase, step: i})
		}
		seen[phase] = true
	}
	for _, p := range m.rb.Phases {
		if !seen[p.ID] {
			add(p.ID)
		}
	}
	// Steps whose phase is not declared still appear, under their phase id.
	for _, s := range m.rb.Steps {
		if !seen[s.Phase] {
			add(s.Phase)
		}
	}
	for i, s := range m.rb.Steps {
		m.stepIndex[s.ID] = i
	}
}

func (m *RunModel) setStyles(isDark bool) {
	m.isDark = isDark
	m.styles = newRunStyles(isDark)
	m.stylesGen++
	m.bar = progress.New(progress.WithoutPercentage(), progress.WithColors(m.styles.barColor),
		progress.WithFillCharacters('█', '░'),
		progress.WithWidth(max(4, m.bar.Width())))
	m.input.SetStyles(textinput.DefaultStyles(isDark))
}

// Init starts listening to the engine and asks the terminal for its
// background colour.
func (m *RunModel) Init() tea.Cmd {
	return tea.Batch(waitForEvents(m.o.Events), tea.RequestBackgroundColor, clockTick())
}

// waitForEvents blocks for the next event, then takes whatever else is
// already queued (up to eventBatch), so that a flood of output lines costs
// one message per batch rather than one per line.
func waitForEvents(ch <-chan wizard.Event) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return runEventsMsg{closed: true}
		}
		msg := runEventsMsg{events: []wizard.Event{ev}}
		for len(msg.events) < eventBatch {
			select {
			case ev, ok := <-ch:
				if !ok {
					msg.closed = true
					return msg
				}
				msg.events = append(msg.events, ev)
			default:
				return msg
			}
		}
		return msg
	}
}

func clockTick() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return runClockMsg{} })
}

func frameTick() tea.Cmd {
	return tea.Tick(frameEvery, func(time.Time) tea.Msg { return runFrameMsg{} })
}

// ReadOnlyMsg tells the run screen that it only watches from now on:
// another screen took control of the runner (runner.Message.Demoted). No
// field stays open and no key sends a decision.
type ReadOnlyMsg struct{}

// Update handles engine events, keys, the window size and the colours.
func (m *RunModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case ReadOnlyMsg:
		m.o.ReadOnly = true
		m.clearPrompt()
		m.sent = ""
		m.dirty = true
		return m, nil
	case runEventsMsg:
		return m, m.handleEvents(msg)
	case runProgressMsg:
		m.progTickArmed = false
		if m.progStale {
			m.dirty = true
		}
		return m, nil
	case runFrameMsg:
		m.tickArmed = false
		if m.logStale {
			m.dirty = true
			m.refreshLogView(false)
		}
		return m, nil
	case runClockMsg:
		m.dirty = true
		if m.closed {
			return m, nil
		}
		return m, clockTick()
	case tea.WindowSizeMsg:
		m.dirty = true
		m.width, m.height = max(0, msg.Width), max(0, msg.Height)
		m.layoutChanged()
		return m, m.forwardToForm(m.formSizeMsg())
	case tea.BackgroundColorMsg:
		m.dirty = true
		m.setStyles(msg.IsDark())
		return m, m.forwardToForm(msg)
	case tea.KeyPressMsg:
		m.dirty = true
		return m, m.handleKey(msg)
	}
	// Everything else (cursor blinks, the form's own messages) goes to
	// whatever is taking input.
	m.dirty = true
	switch m.prompt {
	case promptForm:
		return m, m.forwardToForm(msg)
	case promptConfirm, promptReason:
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

// handleEvents applies a batch of events. Output lines only go to their
// step's ring; everything else marks the frame dirty.
func (m *RunModel) handleEvents(msg runEventsMsg) tea.Cmd {
	var cmds []tea.Cmd
	for i := range msg.events {
		ev := &msg.events[i]
		if ev.Type == wizard.EvOutput {
			m.ring(ev.Step).add(ev.Message)
			m.logStale = true
			continue
		}
		if ev.Type == wizard.EvProgress && m.frame != "" {
			// Counters alone redraw at most every progressEvery.
			m.apply(ev)
			m.progStale = true
			continue
		}
		m.dirty = true
		if cmd := m.apply(ev); cmd != nil {
			cmds = append(cmds, cmd)
		}
	}
	if m.logStale && !m.tickArmed {
		m.tickArmed = true
		cmds = append(cmds, frameTick())
	}
	if m.progStale && !m.progTickArmed {
		m.progTickArmed = true
		cmds = append(cmds, tea.Tick(progressEvery, func(time.Time) tea.Msg { return runProgressMsg{} }))
	}
	if msg.closed {
		m.closed = true
		m.dirty = true
		m.waiting = nil
		m.clearPrompt()
		m.running = ""
		if m.stopping {
			return tea.Batch(append(cmds, tea.Quit)...)
		}
		return tea.Batch(cmds...)
	}
	return tea.Batch(append(cmds, waitForEvents(m.o.Events))...)
}

func (m *RunModel) ring(step string) *lineRing {
	r := m.logs[step]
	if r == nil {
		r = &lineRing{}
		m.logs[step] = r
	}
	return r
}

// stillRunning returns the first step, in runbook order, that is still
// running (steps the engine runs beside each other end one by one), or "".
func (m *RunModel) stillRunning() string {
	for _, s := range m.rb.Steps {
		if m.status[s.ID] == wizard.StatusRunning {
			return s.ID
		}
	}
	return ""
}

// apply updates the model with one (non-output) event.
func (m *RunModel) apply(ev *wizard.Event) tea.Cmd {
	switch ev.Type {
	case wizard.EvStepStarted:
		m.status[ev.Step] = wizard.StatusRunning
		m.running, m.current = ev.Step, ev.Step
		m.started[ev.Step] = ev.Time
		m.passNo[ev.Step] = ev.Pass
		delete(m.progress, ev.Step)
		delete(m.warning, ev.Step)
		delete(m.took, ev.Step)
		m.message[ev.Step] = ""
		m.outScroll = 0
		if ev.Pass > 1 {
			m.ring(ev.Step).add("── pass " + itoa(ev.Pass) + " ──")
		}
		if m.waiting != nil && m.waiting.Step == ev.Step {
			m.waiting = nil
			m.clearPrompt()
		}
	case wizard.EvStepFinished:
		if ev.Status == wizard.StatusOK && m.status[ev.Step] == wizard.StatusRunning {
			m.passes[ev.Step] = append(m.passes[ev.Step], ev.Duration)
		}
		m.status[ev.Step] = ev.Status
		m.message[ev.Step] = ev.Message
		if ev.Duration > 0 {
			m.took[ev.Step] = ev.Duration
		}
		if ev.Counters != nil {
			c := *ev.Counters
			m.progress[ev.Step] = &c
		}
		if m.running == ev.Step {
			m.running = m.stillRunning()
		}
		m.clearWaitingFor(ev.Step)
	case wizard.EvWaiting:
		if ev.Step != "" {
			if s := m.status[ev.Step]; s == "" || s == wizard.StatusPending {
				m.status[ev.Step] = wizard.StatusWaiting
			}
			m.current = ev.Step
		}
		w := *ev
		m.waiting = &w
		m.sent = ""
		return m.startPrompt()
	case wizard.EvOverridden:
		m.overridden[ev.Step] = orText(ev.Actor, "someone") + ": " + ev.Message
	case wizard.EvReopened:
		delete(m.personSkips, ev.Step)
		m.status[ev.Step] = wizard.StatusPending
		m.message[ev.Step] = ""
	case wizard.EvSkipped:
		m.notePersonSkip(ev)
		m.status[ev.Step] = wizard.StatusSkipped
		m.message[ev.Step] = ev.Message
		if m.running == ev.Step {
			m.running = ""
		}
		m.clearWaitingFor(ev.Step)
	case wizard.EvCommand:
		line := "$ " + ev.Command
		switch {
		case ev.Exit != nil:
			line += " (exit " + itoa(*ev.Exit) + ")"
		case ev.CommandStarted():
			line += " (starts)"
		}
		m.ring(ev.Step).add(line)
		m.logStale = true
	case wizard.EvWarning:
		if ev.Step == "" {
			// A notice from the runner (control taken, a refused
			// decision): shown until the next one.
			m.notice = ev.Message
		}
		if ev.Step != "" {
			m.warning[ev.Step] = ev.Message
			m.ring(ev.Step).add("warning: " + ev.Message)
			m.logStale = true
		}
	case wizard.EvLifelineUp, wizard.EvLifelineDown:
		m.lifeline = ""
		if ev.Type == wizard.EvLifelineUp {
			m.lifeline = ev.Message
		}
		if ev.Step != "" {
			m.ring(ev.Step).add(ev.Message)
			m.logStale = true
		}
	case wizard.EvFact:
		for k, v := range ev.Facts {
			m.facts[k] = v
		}
		m.cmdCache = nil
	case wizard.EvAnswered:
		for k, v := range ev.Answers {
			m.answers[k] = v
		}
		m.cmdCache = nil
	case wizard.EvDowntimeStart:
		m.downStart = ev.Time
		m.downEnd = time.Time{}
	case wizard.EvDowntimeEnd:
		m.downEnd = ev.Time
	case wizard.EvProgress:
		if ev.Progress != nil {
			p := *ev.Progress
			m.progress[ev.Step] = &p
		}
	case wizard.EvRunFinished:
		if ev.Lost && ev.Seq > 0 {
			// Journaled by this run as it began: an earlier run's end,
			// not this one's (a client that loses its runner makes one
			// up, never journaled).
			break
		}
		f := *ev
		m.finished = &f
		m.running = ""
		if ev.Lost {
			// The runner died: what it had under way ended unknown, as
			// the journal will read (wizard.State.Unfinished).
			for id, s := range m.status {
				if s == wizard.StatusRunning {
					m.status[id] = wizard.StatusInterrupted
				}
			}
		}
	case wizard.EvRunStarted, wizard.EvRunResumed:
		if m.o.Started.IsZero() {
			m.o.Started = ev.Time
		}
	}
	return nil
}

// notePersonSkip records a skip a person decided (ferry's own skips of
// steps that do not apply are no news), forgetting it when the step is
// reopened.
func (m *RunModel) notePersonSkip(ev *wizard.Event) {
	switch {
	case ev.Type == wizard.EvSkipped && ev.Actor != "ferry":
		m.personSkips[ev.Step] = true
	case ev.Type == wizard.EvReopened:
		delete(m.personSkips, ev.Step)
	}
}

func (m *RunModel) clearWaitingFor(step string) {
	if m.waiting != nil && m.waiting.Step == step {
		m.waiting = nil
		m.clearPrompt()
	}
}

func (m *RunModel) clearPrompt() {
	m.prompt = promptNone
	m.form, m.formSt = nil, nil
	m.inErr = ""
	m.choice = 0
	m.input.Blur()
	m.input.SetValue("")
}

// decide sends a decision about the step the engine waits for and leaves
// the prompt.
func (m *RunModel) decide(d wizard.Decision) {
	if m.waiting == nil {
		return
	}
	d.Step = m.waiting.Step
	if m.o.ReadOnly {
		// An observer sends no decision (the runner would refuse it);
		// the question stays.
		m.clearPrompt()
		return
	}
	if m.o.Decide != nil {
		m.o.Decide(d)
	}
	m.sent = d.Action
	m.waiting = nil
	m.clearPrompt()
}

// handleKey routes a key press: ctrl+c first, then overlays, the quit
// question, text inputs and forms, then the keys of the current prompt.
func (m *RunModel) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	if m.closed {
		return tea.Quit
	}
	if key.Matches(msg, k.Cancel) {
		if m.stopping || m.quitAsk {
			return tea.Interrupt
		}
		return m.askQuit()
	}
	if m.quitAsk {
		switch {
		case m.o.Detached && key.Matches(msg, k.Done):
			// Detach: leave the screen, the runner goes on.
			m.quitAsk = false
			return tea.Quit
		case key.Matches(msg, k.Yes) && m.o.Detached && m.waiting != nil:
			m.quitAsk = false
			m.stopping = true
			m.decide(wizard.Decision{Action: wizard.ActQuit})
			return nil
		case key.Matches(msg, k.Yes):
			m.quitAsk = false
			return m.quit()
		case key.Matches(msg, k.No, k.Back, k.Quit):
			m.quitAsk = false
		}
		return nil
	}
	switch m.overlay {
	case overlayHelp:
		// The arrow and page keys scroll a help longer than the screen;
		// any other key leaves it.
		switch msg.String() {
		case "up", "k":
			m.helpScroll = max(0, m.helpScroll-1)
		case "down", "j":
			m.helpScroll++
		case "pgup", "b":
			m.helpScroll = max(0, m.helpScroll-max(1, m.bodyHeight()-1))
		case "pgdown", "f", "space":
			m.helpScroll += max(1, m.bodyHeight()-1)
		default:
			m.overlay, m.helpScroll = overlayNone, 0
		}
		return nil
	case overlayRecord:
		return m.recordKey(msg)
	case overlayLog:
		switch {
		case key.Matches(msg, k.Back, k.Log, k.Quit):
			m.overlay = overlayNone
		default:
			return m.scrollView(&m.logView, msg)
		}
		return nil
	}
	if m.o.ReadOnly {
		// An observer looks (help, log, a step's record, scrolling) and
		// leaves; no key of a prompt reaches it.
		m.clearPrompt()
	}
	switch m.prompt {
	case promptForm:
		switch msg.String() {
		case "esc":
			// Out of the form: the step's other choices (skip it, look at
			// it whole, the help) are then one key away; enter comes back.
			m.form, m.formSt, m.prompt = nil, nil, promptNone
			return nil
		case "pgup", "pgdown":
			m.scrollKey(msg)
			return nil
		}
		return m.forwardToForm(msg)
	case promptReason:
		return m.reasonKey(msg)
	case promptDone:
		// A manual step is done only on a second, deliberate key: a
		// word typed ahead (a server's name holds a "d") or a stray d
		// does not sign it off. Any other key goes back, and is used
		// for nothing else.
		m.prompt = promptNone
		if msg.String() == "y" || key.Matches(msg, k.Enter) {
			m.decide(wizard.Decision{Action: wizard.ActDone})
		}
		return nil
	case promptConfirm:
		if m.input.Focused() {
			return m.confirmKey(msg)
		}
	}
	switch {
	case key.Matches(msg, k.Help):
		m.overlay = overlayHelp
		return nil
	case key.Matches(msg, k.Log):
		m.overlay = overlayLog
		m.refreshLogView(true)
		return nil
	case key.Matches(msg, k.View):
		m.openRecord(m.current)
		return nil
	}
	if m.scrollKey(msg) {
		return nil
	}
	if m.waiting != nil && !m.o.ReadOnly {
		return m.waitingKey(msg)
	}
	if key.Matches(msg, k.Quit) {
		return m.askQuit()
	}
	return nil
}

// waitingKey handles the keys of the prompt the engine waits on.
func (m *RunModel) waitingKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	need := m.waiting.Need
	quit := func() tea.Cmd {
		if m.o.Detached || m.o.ReadOnly {
			return m.askQuit()
		}
		m.stopping = true
		m.decide(wizard.Decision{Action: wizard.ActQuit})
		return nil
	}
	switch need {
	case wizard.NeedAnswers:
		switch {
		case key.Matches(msg, k.Type), msg.String() == "a":
			return m.startPrompt()
		case key.Matches(msg, k.Skip):
			m.startReason()
		case key.Matches(msg, k.Quit):
			return quit()
		}
	case wizard.NeedConfirm:
		switch {
		case key.Matches(msg, k.Skip):
			m.startReason()
		case key.Matches(msg, k.Type):
			m.inErr = ""
			return m.input.Focus()
		case key.Matches(msg, k.Quit):
			return quit()
		}
	case wizard.NeedManual:
		switch {
		case (key.Matches(msg, k.Done) || key.Matches(msg, k.Enter)) && m.waiting.Word != "":
			// Destructive: done only with the typed word.
			m.inErr = ""
			return m.input.Focus()
		case key.Matches(msg, k.Done):
			m.prompt = promptDone
		case key.Matches(msg, k.Skip):
			m.startReason()
		case key.Matches(msg, k.Quit):
			return quit()
		}
	case wizard.NeedFailure:
		switch {
		case msg.String() == "e" && len(m.redoOf(m.waiting.Step)) > 0:
			m.decide(wizard.Decision{Action: wizard.ActRedo})
		case key.Matches(msg, k.Retry):
			m.decide(wizard.Decision{Action: wizard.ActRetry})
		case key.Matches(msg, k.Skip):
			m.startReason()
		case key.Matches(msg, k.Quit):
			return quit()
		}
	case wizard.NeedRepeat:
		switch {
		case key.Matches(msg, k.Retry):
			m.decide(wizard.Decision{Action: wizard.ActRepeat})
		case key.Matches(msg, k.Continue):
			m.decide(wizard.Decision{Action: wizard.ActContinue})
		case key.Matches(msg, k.Left):
			m.choice = 0
		case key.Matches(msg, k.Right):
			m.choice = 1
		case key.Matches(msg, k.Enter):
			if m.choice == 0 {
				m.decide(wizard.Decision{Action: wizard.ActRepeat})
			} else {
				m.decide(wizard.Decision{Action: wizard.ActContinue})
			}
		case key.Matches(msg, k.Quit):
			return quit()
		}
	case wizard.NeedResume:
		switch {
		case key.Matches(msg, k.Retry):
			m.decide(wizard.Decision{Action: wizard.ActRetry})
		case key.Matches(msg, k.Done):
			m.decide(wizard.Decision{Action: wizard.ActDone})
		case key.Matches(msg, k.Skip):
			m.startReason()
		case key.Matches(msg, k.Quit):
			return quit()
		}
	case wizard.NeedChanged:
		switch {
		case key.Matches(msg, k.Continue):
			m.decide(wizard.Decision{Action: wizard.ActContinue})
		case key.Matches(msg, k.Quit):
			return quit()
		}
	case wizard.NeedGate:
		switch {
		case msg.String() == "o":
			m.startReasonFor(wizard.ActOverride)
		case key.Matches(msg, k.Retry):
			m.decide(wizard.Decision{Action: wizard.ActRetry})
		case key.Matches(msg, k.Skip):
			m.startReason()
		case key.Matches(msg, k.Quit):
			return quit()
		}
	case wizard.NeedTrust:
		switch {
		case key.Matches(msg, k.Yes):
			m.decide(wizard.Decision{Action: wizard.ActTrust})
		case key.Matches(msg, k.No, k.Quit):
			return quit()
		}
	default:
		if key.Matches(msg, k.Quit) {
			return quit()
		}
	}
	return nil
}

// askQuit asks before leaving while a step runs; while the engine waits
// for a decision, quitting tells it to stop and waits for it to do so.
func (m *RunModel) askQuit() tea.Cmd {
	switch {
	case m.closed, m.o.ReadOnly:
		// An observer leaves; the run is not its to stop.
		return tea.Quit
	case m.o.Detached:
		// The runner goes on without this screen: ask whether to stop the
		// run or only leave.
		m.quitAsk = true
		return nil
	case m.waiting != nil:
		m.stopping = true
		m.decide(wizard.Decision{Action: wizard.ActQuit})
		return nil
	}
	m.quitAsk = true
	return nil
}

// quit leaves after the admin said yes to the quit question: the running
// step is interrupted and the journal keeps the place.
func (m *RunModel) quit() tea.Cmd {
	m.stopping = true
	if m.o.Decide != nil {
		m.o.Decide(wizard.Decision{Step: m.running, Action: wizard.ActQuit})
	}
	if m.o.Interrupt != nil {
		m.o.Interrupt()
		return nil
	}
	return tea.Interrupt
}

// scrollKey scrolls the step pane and reports whether msg was a scrolling
// key: ↑/↓ move the "What runs" section a line; pgup/pgdn move the
// downtime forecast's details a page when they do not all show, else the
// output, or the commands when the step has no output yet (a step waiting
// for its confirmation); end goes back to the newest output.
func (m *RunModel) scrollKey(msg tea.KeyPressMsg) bool {
	k := m.keys
	hasOutput := m.logs[m.current] != nil && m.logs[m.current].len() > 0
	switch {
	case key.Matches(msg, k.Up):
		m.cmdScroll = max(0, m.cmdScroll-1)
	case key.Matches(msg, k.Down):
		m.cmdScroll++ // clamped when drawn
	case key.Matches(msg, k.PageUp) && m.fcRows > 0:
		m.fcScroll = max(0, m.fcScroll-m.fcRows)
	case key.Matches(msg, k.PageDown) && m.fcRows > 0:
		m.fcScroll += m.fcRows // clamped when drawn
	case key.Matches(msg, k.PageUp) && !hasOutput:
		m.cmdScroll = max(0, m.cmdScroll-max(1, m.cmdRows-1))
	case key.Matches(msg, k.PageDown) && !hasOutput:
		m.cmdScroll += max(1, m.cmdRows-1)
	case key.Matches(msg, k.PageUp):
		m.outScroll += max(1, m.outputRows()-1)
		m.clampOutScroll()
	case key.Matches(msg, k.PageDown):
		m.outScroll -= max(1, m.outputRows()-1)
		m.clampOutScroll()
	case key.Matches(msg, k.Bottom):
		m.outScroll = 0
	default:
		return false
	}
	return true
}

func (m *RunModel) clampOutScroll() {
	n := 0
	if r := m.logs[m.current]; r != nil {
		n = r.len()
	}
	m.outScroll = min(max(m.outScroll, 0), max(0, n-m.outputRows()))
}

// layoutChanged resizes what depends on the window size.
func (m *RunModel) layoutChanged() {
	m.logView.SetWidth(m.width)
	m.logView.SetHeight(max(0, m.height-2))
	m.recordView.SetWidth(m.width)
	m.recordView.SetHeight(max(0, m.height-2))
	m.refreshRecord(false)
	m.input.SetWidth(max(4, m.contentWidth()-4))
	m.clampOutScroll()
}

// refreshLogView loads the current step's output into the full-log
// viewport, keeping it at the end when it was there (or when asked).
func (m *RunModel) refreshLogView(toEnd bool) {
	if m.overlay != overlayLog {
		return
	}
	atEnd := toEnd || m.logView.AtBottom()
	var lines []string
	if r := m.logs[m.current]; r != nil {
		lines = r.lines()
	}
	for i, l := range lines {
		lines[i] = cleanLine(l)
	}
	if len(lines) == 0 {
		lines = []string{"(no output yet)"}
	}
	m.logView.SetContentLines(lines)
	if atEnd {
		m.logView.GotoBottom()
	}
}

// Closed reports whether the engine's event channel has closed.
func (m *RunModel) Closed() bool { return m.closed }

// Outcome says how the run ended: "done", "failed", "stopped", or "" while
// it goes on.
func (m *RunModel) Outcome() string {
	switch {
	case !m.closed:
		return ""
	case m.finished != nil && m.finished.Status == wizard.StatusOK:
		return "done"
	case m.finished != nil && m.finished.Status == wizard.StatusFailed:
		return "failed"
	case m.finished != nil && m.finished.Lost:
		return "lost"
	}
	return "stopped"
}

// lineRing keeps the last runLogLines lines of a step's output; adding a
// line is O(1) whatever the flood.
type lineRing struct {
	buf   []string
	start int
	total int64
}

func (r *lineRing) add(s string) {
	r.total++
	if len(r.buf) < runLogLines {
		r.buf = append(r.buf, s)
		return
	}
	r.buf[r.start] = s
	r.start = (r.start + 1) % runLogLines
}

func (r *lineRing) len() int { return len(r.buf) }

// last returns up to n lines ending skip lines before the newest one,
// oldest first.
func (r *lineRing) last(n, skip int) []string {
	end := len(r.buf) - skip
	from := max(0, end-n)
	out := make([]string, 0, max(0, end-from))
	for i := from; i < end; i++ {
		out = append(out, r.buf[(r.start+i)%len(r.buf)])
	}
	return out
}

func (r *lineRing) lines() []string { return r.last(len(r.buf), 0) }

// redoOf returns the titles of the earlier steps a failed step may run
// again first (wizard.Step.Redo), in order; none when it names none.
func (m *RunModel) redoOf(id string) []string {
	s := m.rb.Step(id)
	if s == nil {
		return nil
	}
	var out []string
	for _, r := range s.Redo {
		if o := m.rb.Step(r); o != nil {
			out = append(out, o.Title)
		}
	}
	return out
}
