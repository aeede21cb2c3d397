// Package apifile extracts a package's exported API from its source and
// compares it with a checked-in listing (api.txt), the way Go's own api/
// files pin the standard library: every change to the exported surface
// then shows up in that file's diff and is deliberate. It reads source with
// go/build, go/parser and go/printer only; it must not type-check, import
// anything outside the standard library, or be used outside tests.
//
// A listing has one line per exported item, sorted within its section:
//
//	const Name Type          (or: const Name = value, when untyped)
//	var Name Type            (or: var Name = value)
//	func Name(param types) results
//	type Name struct         (then one "type Name struct, Field Type" line a field)
//	type Name interface { Method(params) results }   (one line a method)
//	type Name underlying     (or: type Name = aliased)
//	method (recv) Name(param types) results
//
// Parameter names are left out: they are not part of the API. Items
// declared in the file named by Check's generatedFile (and the methods and
// fields of types declared there) go to their own section, after the rest.
package apifile

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite api.txt from the package source")

// Item is one line of a listing.
type Item struct {
	Line      string
	Name      bool // a name (const, var, type, func, method), not a field
	Generated bool // declared for generated code only
}

// Extract returns the exported API of the package in dir (its non-test Go
// files for the current build context), sorted. Items declared in a file
// named generatedFile are marked Generated.
func Extract(dir, generatedFile string) ([]Item, error) {
	bp, err := build.ImportDir(dir, 0)
	if err != nil {
		return nil, fmt.Errorf("apifile: %w", err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	var names []string
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("apifile: %w", err)
		}
		files = append(files, f)
		names = append(names, name)
	}
	x := &extractor{fset: fset, genTypes: map[string]bool{}}
	// Types first, so that a method in another file knows its receiver's section.
	for i, f := range files {
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
				for _, s := range g.Specs {
					ts := s.(*ast.TypeSpec)
					if ts.Name.IsExported() && names[i] == generatedFile {
						x.genTypes[ts.Name.Name] = true
					}
				}
			}
		}
	}
	for i, f := range files {
		x.gen = names[i] == generatedFile
		for _, d := range f.Decls {
			x.decl(d)
		}
	}
	sort.Slice(x.items, func(i, j int) bool {
		a, b := x.items[i], x.items[j]
		if a.Generated != b.Generated {
			return !a.Generated
		}
		return a.Line < b.Line
	})
	return x.items, nil
}

type extractor struct {
	fset     *token.FileSet
	gen      bool
	genTypes map[string]bool
	items    []Item
}

func (x *extractor) add(line string, name, gen bool) {
	x.items = append(x.items, Item{Line: line, Name: name, Generated: gen})
}

func (x *extractor) print(n ast.Node) string {
	ast.Inspect(n, func(n ast.Node) bool {
		if ft, ok := n.(*ast.FuncType); ok {
			unname(ft.Params)
			unname(ft.Results)
		}
		return true
	})
	var b bytes.Buffer
	if err := printer.Fprint(&b, x.fset, n); err != nil {
		panic(err)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func (x *extractor) decl(d ast.Decl) {
	switch d := d.(type) {
	case *ast.FuncDecl:
		if !d.Name.IsExported() {
			return
		}
		sig := x.signature(d.Type)
		if d.Recv == nil {
			x.add("func "+d.Name.Name+x.typeParams(d.Type.TypeParams)+sig, true, x.gen)
			return
		}
		recv := d.Recv.List[0].Type
		base := recv
		if s, ok := base.(*ast.StarExpr); ok {
			base = s.X
		}
		switch b := base.(type) {
		case *ast.IndexExpr:
			base = b.X
		case *ast.IndexListExpr:
			base = b.X
		}
		id, ok := base.(*ast.Ident)
		if !ok || !id.IsExported() {
			return
		}
		x.add("method ("+x.print(recv)+") "+d.Name.Name+sig, true, x.genTypes[id.Name])
	case *ast.GenDecl:
		switch d.Tok {
		case token.CONST:
			var typ ast.Expr // carried to implicit repetitions (iota)
			for _, s := range d.Specs {
				vs := s.(*ast.ValueSpec)
				if vs.Type != nil || len(vs.Values) > 0 {
					typ = vs.Type
				}
				for i, n := range vs.Names {
					if !n.IsExported() {
						continue
					}
					switch {
					case typ != nil:
						x.add("const "+n.Name+" "+x.print(typ), true, x.gen)
					case i < len(vs.Values):
						x.add("const "+n.Name+" = "+x.print(vs.Values[i]), true, x.gen)
					default:
						x.add("const "+n.Name, true, x.gen)
					}
				}
			}
		case token.VAR:
			for _, s := range d.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !n.IsExported() {
						continue
					}
					switch {
					case vs.Type != nil:
						x.add("var "+n.Name+" "+x.print(vs.Type), true, x.gen)
					case len(vs.Values) == len(vs.Names):
						x.add("var "+n.Name+" = "+x.print(vs.Values[i]), true, x.gen)
					default:
						x.add("var "+n.Name, true, x.gen)
					}
				}
			}
		case token.TYPE:
			for _, s := range d.Specs {
				x.typeSpec(s.(*ast.TypeSpec))
			}
		}
	}
}

func (x *extractor) typeSpec(ts *ast.TypeSpec) {
	if !ts.Name.IsExported() {
		return
	}
	name := ts.Name.Name + x.typeParams(ts.TypeParams)
	switch t := ts.Type.(type) {
	case *ast.StructType:
		x.add("type "+name+" struct", true, x.gen)
		for _, f := range t.Fields.List {
			ft := x.print(f.Type)
			if len(f.Names) == 0 {
				base := f.Type
				if s, ok := base.(*ast.StarExpr); ok {
					base = s.X
				}
				if sel, ok := base.(*ast.SelectorExpr); ok {
					base = sel.Sel
				}
				if id, ok := base.(*ast.Ident); ok && id.IsExported() {
					x.add("type "+name+" struct, embedded "+ft, false, x.gen)
				}
				continue
			}
			for _, n := range f.Names {
				if n.IsExported() {
					x.add("type "+name+" struct, "+n.Name+" "+ft, false, x.gen)
				}
			}
		}
	case *ast.InterfaceType:
		x.add("type "+name+" interface", true, x.gen)
		for _, m := range t.Methods.List {
			if len(m.Names) == 0 {
				x.add("type "+name+" interface, embedded "+x.print(m.Type), false, x.gen)
				continue
			}
			for _, n := range m.Names {
				if !n.IsExported() {
					continue
				}
				if ft, ok := m.Type.(*ast.FuncType); ok {
					x.add("type "+name+" interface, "+n.Name+x.signature(ft), false, x.gen)
				}
			}
		}
	default:
		if ts.Assign.IsValid() {
			x.add("type "+name+" = "+x.print(ts.Type), true, x.gen)
		} else {
			x.add("type "+name+" "+x.print(ts.Type), true, x.gen)
		}
	}
}

func (x *extractor) typeParams(fl *ast.FieldList) string {
	if fl == nil || len(fl.List) == 0 {
		return ""
	}
	var ps []string
	for _, f := range fl.List {
		var ns []string
		for _, n := range f.Names {
			ns = append(ns, n.Name)
		}
		ps = append(ps, strings.Join(ns, ", ")+" "+x.print(f.Type))
	}
	return "[" + strings.Join(ps, ", ") + "]"
}

// unname drops the parameter names of a field list, repeating a type once
// for each name it had.
func unname(fl *ast.FieldList) {
	if fl == nil {
		return
	}
	var list []*ast.Field
	for _, f := range fl.List {
		n := len(f.Names)
		if n == 0 {
			n = 1
		}
		for range n {
			list = append(list, &ast.Field{Type: f.Type})
		}
	}
	fl.List = list
}

// signature prints a function type without parameter names.
func (x *extractor) signature(ft *ast.FuncType) string {
	s := "(" + x.types(ft.Params) + ")"
	if ft.Results == nil || len(ft.Results.List) == 0 {
		return s
	}
	r := x.types(ft.Results)
	if len(ft.Results.List) == 1 && len(ft.Results.List[0].Names) <= 1 {
		return s + " " + r
	}
	return s + " (" + r + ")"
}

func (x *extractor) types(fl *ast.FieldList) string {
	if fl == nil {
		return ""
	}
	var ts []string
	for _, f := range fl.List {
		t := x.print(f.Type)
		n := len(f.Names)
		if n == 0 {
			n = 1
		}
		for range n {
			ts = append(ts, t)
		}
	}
	return strings.Join(ts, ", ")
}

// Counts returns the number of exported names (consts, vars, types, funcs
// and methods of exported types) and of names plus struct fields and
// interface methods.
func Counts(items []Item) (names, withFields int) {
	for _, it := range items {
		if it.Name {
			names++
		}
	}
	return names, len(items)
}

// Format renders a listing: a header, the items for programs, then the
// generated-code-only section if there is one.
func Format(pkg, generatedFile string, items []Item) []byte {
	var b bytes.Buffer
	names, all := Counts(items)
	fmt.Fprintf(&b, "# The exported API of package %s, extracted from its source by TestAPI.\n", pkg)
	fmt.Fprintf(&b, "# Rewrite with: go test . -run TestAPI -update, then review the diff: every change is deliberate.\n")
	fmt.Fprintf(&b, "# %d names (consts, vars, types, funcs, methods); %d lines with fields.\n", names, all)
	gen := false
	for _, it := range items {
		if it.Generated && !gen {
			gen = true
			fmt.Fprintf(&b, "\n# For proxygen's generated code only (%s); not for programs.\n", generatedFile)
		}
		b.WriteString(it.Line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Check extracts the API of the package in the current directory and
// compares it with api.txt there; with -update it rewrites api.txt instead.
// On a difference it fails with the lines added and removed.
func Check(t testing.TB, pkg, generatedFile string) {
	t.Helper()
	items, err := Extract(".", generatedFile)
	if err != nil {
		t.Fatal(err)
	}
	got := Format(pkg, generatedFile, items)
	if *update {
		if err := os.WriteFile("api.txt", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("api.txt")
	if err != nil {
		t.Fatalf("%v (create it with: go test . -run TestAPI -update)", err)
	}
	if d := diff(string(want), string(got)); d != "" {
		t.Errorf("the exported API differs from api.txt (- api.txt, + source); if the change is deliberate, run go test . -run TestAPI -update and commit api.txt:\n%s", d)
	}
}

// diff lists the lines only in want (-) and only in got (+), in order.
func diff(want, got string) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	w, g := count(want), count(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if g[l] > 0 {
			g[l]--
			continue
		}
		fmt.Fprintf(&b, "-%s\n", l)
	}
	for _, l := range strings.Split(got, "\n") {
		if w[l] > 0 {
			w[l]--
			continue
		}
		fmt.Fprintf(&b, "+%s\n", l)
	}
	return b.String()
}
