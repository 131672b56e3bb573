// Command jsonschemagen writes the JSON Schemas of the inventory kinds,
// schemas/jsonschema/*.json, from the Go types of package schemas. Run it
// from schemas/ with go generate; TestJSONSchemasUpToDate fails when the
// files are stale.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/metalgit/metalgit/schemas/internal/jsonschemagen/gen"
)

func main() {
	out := flag.String("out", "jsonschema", "directory to write the schema files to")
	src := flag.String("src", ".", "directory of package schemas, read for doc comments")
	flag.Parse()
	if err := run(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "jsonschemagen:", err)
		os.Exit(1)
	}
}

// run writes every schema file into out and removes *.json files there
// that the generator no longer makes.
func run(src, out string) error {
	files, err := gen.Files(os.DirFS(src))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("writing schemas: %w", err)
	}
	old, err := filepath.Glob(filepath.Join(out, "*.json"))
	if err != nil {
		return fmt.Errorf("writing schemas: %w", err)
	}
	for _, path := range old {
		if _, ok := files[filepath.Base(path)]; !ok {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("removing stale schema: %w", err)
			}
		}
	}
	for name, data := range files {
		path := filepath.Join(out, name)
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, data) {
			continue
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("writing schemas: %w", err)
		}
	}
	return nil
}
