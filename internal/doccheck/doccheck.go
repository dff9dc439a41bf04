// Package doccheck finds exported struct fields without a doc comment, so
// a test can hold packages to the rule "every exported name and every
// exported struct field has a doc comment".
package doccheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
)

// Undocumented returns, as "file:line: Type.Field", every exported field of
// an exported struct type (nested struct types included) declared in the
// non-test Go files of dir that has neither a doc comment above it nor a
// comment at the end of its line, in file and declaration order.
// Embedded fields are not reported.
func Undocumented(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				if !ts.Name.IsExported() {
					continue
				}
				if st, ok := ts.Type.(*ast.StructType); ok {
					out = append(out, fields(fset, ts.Name.Name, st)...)
				}
			}
		}
	}
	return out, nil
}

// fields reports the undocumented exported fields of st (and of struct
// types nested in its fields), named under owner.
func fields(fset *token.FileSet, owner string, st *ast.StructType) []string {
	var out []string
	for _, fl := range st.Fields.List {
		for _, n := range fl.Names {
			if !n.IsExported() {
				continue
			}
			if fl.Doc == nil && fl.Comment == nil {
				pos := fset.Position(n.Pos())
				out = append(out, fmt.Sprintf("%s:%d: %s.%s", filepath.Base(pos.Filename), pos.Line, owner, n.Name))
			}
			if nested, ok := fl.Type.(*ast.StructType); ok {
				out = append(out, fields(fset, owner+"."+n.Name, nested)...)
			}
		}
	}
	return out
}
