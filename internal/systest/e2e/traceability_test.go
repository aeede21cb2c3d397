package e2e

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/proxygen-go/proxygen/internal/testenv"
)

// citeRE matches a citation `path/file_test.go:TestName` in the table.
var citeRE = regexp.MustCompile("`([A-Za-z0-9_./-]+_test\\.go):((?:Test|Fuzz|Benchmark|Example)[A-Za-z0-9_]*)`")

// TestTraceabilityTable keeps docs/TRACEABILITY.md honest: every cited test
// function exists (as a top-level func) in the named file, every
// requirement R1.1–R4.4 has exactly one row, and every row cites a test or
// says "no test yet".
func TestTraceabilityTable(t *testing.T) {
	root := testenv.RepoRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "TRACEABILITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string]map[string]bool{} // file -> top-level funcs
	declared := func(file string) (map[string]bool, error) {
		if m, ok := funcs[file]; ok {
			return m, nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, filepath.FromSlash(file)), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		m := map[string]bool{}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				m[fd.Name.Name] = true
			}
		}
		funcs[file] = m
		return m, nil
	}

	reqs := map[string]int{}
	seedRow := regexp.MustCompile(`^\| (R[1-4]\.[1-4]) \|`)
	cites := 0
	for n, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| ---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) < 2 || cells[0] == "id" || cells[0] == "promise" || cells[0] == "weakness" {
			continue // a header
		}
		if m := seedRow.FindStringSubmatch(line); m != nil {
			reqs[m[1]]++
		}
		found := citeRE.FindAllStringSubmatch(line, -1)
		if len(found) == 0 && !strings.Contains(line, "no test yet") {
			t.Errorf("TRACEABILITY.md:%d: a row with no test citation and no \"no test yet\": %s", n+1, line)
		}
		for _, c := range found {
			cites++
			file, name := c[1], c[2]
			m, err := declared(file)
			if err != nil {
				t.Errorf("TRACEABILITY.md:%d: cites %s:%s, but the file does not parse or exist: %v", n+1, file, name, err)
				continue
			}
			if !m[name] {
				t.Errorf("TRACEABILITY.md:%d: cites %s:%s, but %s declares no func %s", n+1, file, name, file, name)
			}
		}
	}
	for g := 1; g <= 4; g++ {
		for r := 1; r <= 4; r++ {
			id := fmt.Sprintf("R%d.%d", g, r)
			if reqs[id] != 1 {
				t.Errorf("TRACEABILITY.md: %d rows for requirement %s, want 1", reqs[id], id)
			}
		}
	}
	if cites < 50 {
		t.Errorf("only %d citations parsed: has the table's format changed?", cites)
	}
	t.Logf("%d citations of %d test files checked", cites, len(funcs))
}
