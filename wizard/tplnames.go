package wizard

import (
	"text/template"
	"text/template/parse"
)

// templateRef is one name a runbook template reads from its data: Root is
// "Params" or "Answers", Name the key under it ("old_queue" for
// {{.Params.old_queue}} or {{index .Params "old_queue"}}).
type templateRef struct {
	Root, Name string
}

// templateRefs returns the .Params and .Answers keys the main template of t
// reads, in the order they appear, each once. It reads the parse tree:
// a field chain (.Params.NAME, $.Params.NAME) and an index call with a
// constant string key (index .Params "NAME"). Where the dot stands for
// something else (inside the body of range or with, and in templates
// brought in by define), only $ chains are taken; chains through a variable
// of the template's own ($p := .Params) are not followed.
func templateRefs(t *template.Template) []templateRef {
	if t == nil || t.Tree == nil {
		return nil
	}
	w := refWalker{seen: map[templateRef]bool{}}
	w.node(t.Tree.Root, true)
	return w.refs
}

type refWalker struct {
	refs []templateRef
	seen map[templateRef]bool
}

func (w *refWalker) add(root, name string) {
	if root != "Params" && root != "Answers" {
		return
	}
	r := templateRef{Root: root, Name: name}
	if !w.seen[r] {
		w.seen[r] = true
		w.refs = append(w.refs, r)
	}
}

// dataPath returns the field names n reads from the template's data (the
// root, as given to Execute), or nil when n does not start there: .A.B
// while dot is the root, or $.A.B.
func dataPath(n parse.Node, dotIsRoot bool) []string {
	switch x := n.(type) {
	case *parse.FieldNode:
		if dotIsRoot {
			return x.Ident
		}
	case *parse.VariableNode:
		if len(x.Ident) > 0 && x.Ident[0] == "$" {
			return x.Ident[1:]
		}
	}
	return nil
}

// node walks n; dotIsRoot says whether dot is the template's data there.
func (w *refWalker) node(n parse.Node, dotIsRoot bool) {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		for _, c := range x.Nodes {
			w.node(c, dotIsRoot)
		}
	case *parse.ActionNode:
		w.node(x.Pipe, dotIsRoot)
	case *parse.IfNode:
		w.branch(&x.BranchNode, dotIsRoot, dotIsRoot)
	case *parse.RangeNode:
		w.branch(&x.BranchNode, dotIsRoot, false)
	case *parse.WithNode:
		w.branch(&x.BranchNode, dotIsRoot, false)
	case *parse.TemplateNode:
		w.node(x.Pipe, dotIsRoot)
	case *parse.PipeNode:
		if x == nil {
			return
		}
		for _, c := range x.Cmds {
			w.node(c, dotIsRoot)
		}
	case *parse.CommandNode:
		// index .Params "NAME"
		if len(x.Args) >= 3 {
			if id, ok := x.Args[0].(*parse.IdentifierNode); ok && id.Ident == "index" {
				if p := dataPath(x.Args[1], dotIsRoot); len(p) == 1 {
					if s, ok := x.Args[2].(*parse.StringNode); ok {
						w.add(p[0], s.Text)
					}
				}
			}
		}
		for _, a := range x.Args {
			w.node(a, dotIsRoot)
		}
	case *parse.ChainNode:
		w.node(x.Node, dotIsRoot)
	case *parse.FieldNode, *parse.VariableNode:
		if p := dataPath(x, dotIsRoot); len(p) >= 2 {
			w.add(p[0], p[1])
		}
	}
}

// branch walks an if, range or with: its pipeline and else branch where
// dot is as outside, its body where dot is as bodyRoot says.
func (w *refWalker) branch(b *parse.BranchNode, dotIsRoot, bodyRoot bool) {
	w.node(b.Pipe, dotIsRoot)
	w.node(b.List, bodyRoot)
	w.node(b.ElseList, dotIsRoot)
}
