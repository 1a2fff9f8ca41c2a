package collect

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoClockButTheSeam checks that the collector and the model read no
// clock of their own: a call of time.Now, time.Since or time.Until there
// would be a judgement of time the audit cannot see (the collector once
// decided with one whether a trigger had expired). Waits and durations use
// Options.Clock and ClientOptions.Clock, whose default may name time.Now as
// a value, never call it.
func TestNoClockButTheSeam(t *testing.T) {
	for _, dir := range []string{".", filepath.Join("..", "inventory")} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
					if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "time" {
						switch sel.Sel.Name {
						case "Now", "Since", "Until":
							t.Errorf("%s: time.%s() reads the machine's clock; take the time from the Clock option", fset.Position(call.Pos()), sel.Sel.Name)
						}
					}
				}
				return true
			})
		}
	}
}
