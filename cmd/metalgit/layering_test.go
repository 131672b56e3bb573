package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/metalgit/metalgit/boot/bmh"
	"github.com/metalgit/metalgit/render"
)

// TestImportDirections holds the project's load-bearing walls: schemas
// imports nothing of ours; the planning pass (alloc) never imports Git,
// Kubernetes clients, render, reconciler or boot; render never
// imports reconciler or boot; boot never imports reconciler or render; and
// nothing imports cmd.
func TestImportDirections(t *testing.T) {
	const mod = "github.com/metalgit/metalgit/"
	forbidden := map[string][]string{
		mod + "schemas/...": {mod + "alloc", mod + "render", mod + "reconciler", mod + "boot", mod + "cmd"},
		mod + "alloc/...": {mod + "render", mod + "reconciler", mod + "boot", mod + "cmd",
			"github.com/go-git/", "github.com/fluxcd/", "k8s.io/client-go/"},
		mod + "render/...":     {mod + "reconciler", mod + "boot", mod + "cmd"},
		mod + "boot/...":       {mod + "reconciler", mod + "render", mod + "cmd"},
		mod + "reconciler/...": {mod + "cmd"},
	}
	for pattern, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pattern).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pattern, err, out)
		}
		for dep := range strings.FieldsSeq(string(out)) {
			for _, b := range bad {
				if dep == b || strings.HasPrefix(dep, strings.TrimSuffix(b, "/")+"/") {
					t.Errorf("%s depends on %s, which it must not", pattern, dep)
				}
			}
		}
	}
}

// TestBootReadsWhatRenderWrites: the boot proxy's standalone host source
// reads the annotations and labels render sets on BareMetalHosts; the two
// packages may not import each other, so the names are compared here.
func TestBootReadsWhatRenderWrites(t *testing.T) {
	for _, p := range [][2]string{
		{bmh.AnnotationIPAddress, render.AnnotationIPAddress},
		{bmh.AnnotationGateway, render.AnnotationGateway},
		{bmh.AnnotationDNSServers, render.AnnotationDNSServers},
		{bmh.AnnotationNTPServers, render.AnnotationNTPServers},
		{bmh.LabelMachine, render.LabelMachine},
	} {
		if p[0] != p[1] {
			t.Errorf("boot/bmh reads %q, render writes %q", p[0], p[1])
		}
	}
}
