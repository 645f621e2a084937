package tui

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"github.com/ferry-migrate/ferry/wizard"
)

// The DNS resolvers question gets a choice first: the old server's
// resolvers, a public set, or a list typed by hand.
const (
	resolversKey      = "resolvers"
	resolversFromKey  = "resolvers·from"
	resolversFromOld  = "old"
	resolversFromPub  = "public"
	resolversFromEdit = "custom"
)

// defaultPublicResolvers is used when the runbook has no public_resolvers
// parameter.
var defaultPublicResolvers = []string{"8.8.8.8", "8.8.4.4", "1.1.1.1"}

// formState is the heap state a huh form binds to. The model keeps a
// pointer to it, so the form's accessors and hide functions never point
// into a copy of the model.
type formState struct {
	questions []wizard.Question
	values    map[string]*string
	from      string // where the resolvers come from
	oldList   []string
	pubList   []string
	err       string // why the last set of answers was refused
}

// startPrompt prepares the input the waiting event needs.
func (m *RunModel) startPrompt() tea.Cmd {
	m.clearPrompt()
	if m.o.ReadOnly {
		// An observer answers nothing: no field to type into.
		return nil
	}
	switch m.waiting.Need {
	case wizard.NeedAnswers:
		return m.startForm("")
	case wizard.NeedConfirm, wizard.NeedManual:
		if m.waiting.Need == wizard.NeedManual && m.waiting.Word == "" {
			return nil
		}
		// The field takes the word at once, a destructive manual step's
		// too: the screen asks to type it, so a key typed there is
		// never read as a command (an "s" in a server's name opened the
		// skip and the rest of the word became its reason). esc leaves
		// the field for the keys.
		m.prompt = promptConfirm
		// No placeholder: without colour it would read as already typed.
		m.input.Placeholder = ""
		m.input.EchoMode = 0
		return m.input.Focus()
	case wizard.NeedRepeat:
		m.choice = 1 // "continue" is the safe default
	}
	return nil
}

// startForm builds the huh form for the waiting questions: one group per
// question, two for the DNS resolvers (the choice, then the list when it
// is typed by hand).
func (m *RunModel) startForm(refused string) tea.Cmd {
	fs := &formState{questions: m.waiting.Questions, values: map[string]*string{}, err: refused}
	fs.oldList = wizard.SplitList(m.facts["old_resolvers"])
	fs.pubList = m.publicResolvers()
	var groups []*huh.Group
	for _, q := range fs.questions {
		q := q
		v := new(string)
		fs.values[q.Key] = v
		if isResolversQuestion(q) {
			groups = append(groups, m.resolversGroups(fs, q, v)...)
			continue
		}
		groups = append(groups, huh.NewGroup(questionField(q, v)))
	}
	if len(groups) == 0 {
		m.decide(wizard.Decision{Action: wizard.ActAnswer, Answer: map[string]string{}})
		return nil
	}
	f := huh.NewForm(groups...).
		WithTheme(huh.ThemeFunc(formTheme)).
		WithShowHelp(false).
		// The refusal of an answer is drawn inside the question's box
		// (promptLines), not in huh's footer below it.
		WithShowErrors(false)
	m.form, m.formSt, m.prompt = f, fs, promptForm
	cmd := f.Init()
	// The form sizes itself from the window size; give it the pane's now
	// (its own request for the size is answered later).
	bg := tea.BackgroundColorMsg{Color: darkOrLight(m.isDark)}
	return tea.Batch(cmd, m.forwardToForm(bg), m.forwardToForm(m.formSizeMsg()))
}

func isResolversQuestion(q wizard.Question) bool {
	return q.Key == resolversKey && q.Type == "ips"
}

func (m *RunModel) publicResolvers() []string {
	if v, ok := m.rb.Params["public_resolvers"]; ok {
		var out []string
		switch l := v.(type) {
		case []any:
			for _, x := range l {
				out = append(out, fmt.Sprint(x))
			}
		case []string:
			out = append(out, l...)
		case string:
			out = wizard.SplitList(l)
		}
		if len(out) > 0 {
			return out
		}
	}
	return defaultPublicResolvers
}

// questionField returns the huh field for one question, bound to v.
func questionField(q wizard.Question, v *string) huh.Field {
	title := q.Prompt
	if title == "" {
		title = q.Key
	}
	switch q.Type {
	case "yesno":
		*v = "yes"
		if d := strings.ToLower(q.Default); d == "no" || d == "n" || d == "false" {
			*v = "no"
		}
		return huh.NewSelect[string]().Key(q.Key).Title(title).Description(q.Help).
			Options(huh.NewOption("yes", "yes"), huh.NewOption("no", "no")).Value(v)
	case "choice":
		opts := make([]huh.Option[string], 0, len(q.Choices))
		for _, c := range q.Choices {
			opts = append(opts, huh.NewOption(c, c))
		}
		if q.Default != "" {
			*v = q.Default
		}
		return huh.NewSelect[string]().Key(q.Key).Title(title).Description(q.Help).
			Options(opts...).Value(v)
	}
	in := huh.NewInput().Key(q.Key).Title(title).Description(q.Help).Value(v).
		Validate(func(s string) error {
			if strings.TrimSpace(s) == "" && q.Default != "" {
				return nil // the default is taken
			}
			return fieldError(wizard.ValidateAnswer(q, s))
		})
	if q.Default != "" && q.Type != "secret" {
		in.Placeholder(q.Default + " (enter takes it)")
	}
	if q.Type == "secret" {
		in.EchoMode(huh.EchoModePassword)
	}
	return in
}

// fieldError is an answer's refusal as the form shows it under the
// question: what the answer must be, without the answers file's "key …".
func fieldError(err error) error {
	if ae, ok := errors.AsType[*wizard.AnswerError](err); ok {
		return errors.New(ae.Problem())
	}
	return err
}

// resolversGroups returns the choice of resolvers and, shown only when the
// admin wants to type the list, its input.
func (m *RunModel) resolversGroups(fs *formState, q wizard.Question, v *string) []*huh.Group {
	var opts []huh.Option[string]
	if len(fs.oldList) > 0 && wizard.ValidateAnswer(q, strings.Join(fs.oldList, " ")) == nil {
		opts = append(opts, huh.NewOption("the old server's current resolvers ("+strings.Join(fs.oldList, ", ")+")", resolversFromOld))
	}
	opts = append(opts,
		huh.NewOption("public resolvers ("+strings.Join(fs.pubList, ", ")+")", resolversFromPub),
		huh.NewOption("custom list", resolversFromEdit))
	fs.from = opts[0].Value
	title := q.Prompt
	if title == "" {
		title = "DNS resolvers"
	}
	sel := huh.NewSelect[string]().Key(resolversFromKey).Title(title).
		Description("Which recursive resolvers the new server should use.").
		Options(opts...).Value(&fs.from)
	in := huh.NewInput().Key(q.Key).Title("Resolvers").
		Description("IP addresses separated by spaces or commas.").Value(v).
		Placeholder(strings.Join(fs.pubList, " ")).
		Validate(func(s string) error { return fieldError(wizard.ValidateAnswer(q, s)) })
	return []*huh.Group{
		huh.NewGroup(sel),
		huh.NewGroup(in).WithHideFunc(func() bool { return fs.from != resolversFromEdit }),
	}
}

// formAnswers reads the completed form. Values come from the form's
// results (GetString), the resolvers from the choice made; every answer is
// validated once more.
func (m *RunModel) formAnswers() (map[string]string, error) {
	fs, f := m.formSt, m.form
	out := map[string]string{}
	for _, q := range fs.questions {
		var v string
		switch {
		case isResolversQuestion(q):
			switch fs.from {
			case resolversFromOld:
				v = strings.Join(fs.oldList, " ")
			case resolversFromPub:
				v = strings.Join(fs.pubList, " ")
			default:
				v = f.GetString(q.Key)
			}
		default:
			v = f.GetString(q.Key)
			if strings.TrimSpace(v) == "" && q.Default != "" {
				v = q.Default
			}
		}
		v = strings.TrimSpace(v)
		if err := wizard.ValidateAnswer(q, v); err != nil {
			return nil, err
		}
		out[q.Key] = v
	}
	return out, nil
}

// forwardToForm passes msg to the form and sends the answers when it is
// complete.
func (m *RunModel) forwardToForm(msg tea.Msg) tea.Cmd {
	if m.prompt != promptForm || m.form == nil {
		return nil
	}
	f, cmd := m.form.Update(msg)
	if ff, ok := f.(*huh.Form); ok {
		m.form = ff
	}
	switch m.form.State {
	case huh.StateCompleted:
		answers, err := m.formAnswers()
		if err != nil {
			return m.startForm(err.Error())
		}
		m.decide(wizard.Decision{Action: wizard.ActAnswer, Answer: answers})
		return nil
	case huh.StateAborted:
		// The form's own quit key: rebuild it and ask about quitting.
		m.startForm("")
		return m.askQuit()
	}
	return cmd
}

// formSizeMsg is the window size the form sees: the step pane's.
func (m *RunModel) formSizeMsg() tea.WindowSizeMsg {
	return tea.WindowSizeMsg{Width: max(10, m.contentWidth()), Height: max(3, m.bodyHeight()-4)}
}

// formTheme is huh's Charm theme with the options that are not chosen, and
// the buttons not focused, in the terminal's own foreground: huh v2.0.3's
// Charm theme draws them in grey 235 on a dark background and grey 252 on
// a light one (its light and dark values swapped), which cannot be read.
func formTheme(isDark bool) *huh.Styles {
	t := huh.ThemeCharm(isDark)
	for _, s := range []*huh.FieldStyles{&t.Focused, &t.Blurred} {
		s.Option = s.Option.UnsetForeground()
		s.UnselectedOption = s.UnselectedOption.UnsetForeground()
		s.BlurredButton = s.BlurredButton.UnsetForeground().UnsetBackground().Reverse(false)
		s.TextInput.Text = s.TextInput.Text.UnsetForeground()
	}
	return t
}

// startReason asks why the step is skipped.
func (m *RunModel) startReason() { m.startReasonFor(wizard.ActSkip) }

// startReasonFor asks for the reason a decision needs: why the step is
// skipped (ActSkip), or why it runs although a step it requires did not
// pass (ActOverride).
func (m *RunModel) startReasonFor(act wizard.Action) {
	m.prompt = promptReason
	m.reasonFor = act
	m.inErr = ""
	m.input.SetValue("")
	m.input.Placeholder = "why this step is skipped"
	if act == wizard.ActOverride {
		m.input.Placeholder = "why it may run anyway"
	}
	m.input.EchoMode = 0
	m.input.Focus()
}

// reasonKey handles keys while the skip reason is typed: a reason is
// required, esc goes back.
func (m *RunModel) reasonKey(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Back):
		m.input.SetValue("")
		m.inErr = ""
		if m.waiting != nil && m.waiting.Word != "" && (m.waiting.Need == wizard.NeedConfirm || m.waiting.Need == wizard.NeedManual) {
			m.prompt = promptConfirm
			m.input.Placeholder = ""
			m.input.Blur()
		} else {
			m.prompt = promptNone
			m.input.Blur()
		}
		return nil
	case msg.String() == "enter":
		reason := strings.TrimSpace(m.input.Value())
		if reason == "" {
			m.inErr = "A reason is required: it goes into the journal."
			return nil
		}
		act := m.reasonFor
		if act == "" {
			act = wizard.ActSkip
		}
		m.decide(wizard.Decision{Action: act, Reason: reason})
		return nil
	}
	m.inErr = ""
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return cmd
}

// confirmKey handles keys while the confirmation word is typed: only the
// exact word sends the confirmation; esc leaves the input without sending.
//
// The field takes only what the word can hold (letters, digits and the
// word's own characters): the arrow and page keys scroll the step pane
// meanwhile, and ? opens the help, so nothing else lands in the field.
func (m *RunModel) confirmKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "up", "down", "pgup", "pgdown":
		m.scrollKey(msg)
		return nil
	}
	if t := msg.Text; t != "" {
		for _, r := range t {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(m.waiting.Word, r) {
				if t == "?" {
					m.overlay = overlayHelp
				}
				return nil
			}
		}
	}
	switch {
	case key.Matches(msg, m.keys.Back):
		m.input.Blur()
		m.inErr = ""
		return nil
	case msg.String() == "enter":
		typed := strings.TrimSpace(m.input.Value())
		if typed != m.waiting.Word {
			if typed == "" {
				m.inErr = fmt.Sprintf("Type %s to go ahead, or esc to go back.", m.waiting.Word)
			} else {
				m.inErr = fmt.Sprintf("%q is not %q: nothing ran. Type the word exactly, or esc.", typed, m.waiting.Word)
				// The refused text goes: the next attempt starts empty.
				m.input.SetValue("")
			}
			return nil
		}
		if m.waiting.Need == wizard.NeedManual {
			m.decide(wizard.Decision{Action: wizard.ActDone, Text: typed})
			return nil
		}
		m.decide(wizard.Decision{Action: wizard.ActConfirm, Text: typed})
		return nil
	}
	m.inErr = ""
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return cmd
}
