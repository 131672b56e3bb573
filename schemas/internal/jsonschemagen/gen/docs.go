package gen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"strings"
)

// readDocs reads the doc comments of the types and struct fields declared
// in the Go files of src (tests excluded): "Type" and "Type.Field" map to
// the comment as one line.
func readDocs(src fs.FS) (map[string]string, error) {
	names, err := fs.Glob(src, "*.go")
	if err != nil {
		return nil, fmt.Errorf("reading doc comments: %w", err)
	}
	docs := map[string]string{}
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		data, err := fs.ReadFile(src, name)
		if err != nil {
			return nil, fmt.Errorf("reading doc comments: %w", err)
		}
		f, err := parser.ParseFile(fset, path.Base(name), data, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("reading doc comments: %w", err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts, ok := spec.(*ast.TypeSpec)
				if !ok {
					continue
				}
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				docs[ts.Name.Name] = text(doc)
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, fld := range st.Fields.List {
					doc := fld.Doc
					if doc == nil {
						doc = fld.Comment
					}
					for _, n := range fld.Names {
						docs[ts.Name.Name+"."+n.Name] = text(doc)
					}
				}
			}
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("reading doc comments: no Go types found in the source of package schemas")
	}
	return docs, nil
}

// text returns a comment as one line of text.
func text(cg *ast.CommentGroup) string {
	if cg == nil {
		return ""
	}
	return strings.Join(strings.Fields(cg.Text()), " ")
}
