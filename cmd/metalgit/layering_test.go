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
// imports reconciler or boot; boot never imports reconciler or render; the
// Git layer (reconciler/internal/gitrepo) imports none of alloc, render,
// boot or the reconciler; and nothing imports cmd.
func TestImportDirections(t *testing.T) {
	const mod = "github.com/metalgit/metalgit/"
	forbidden := map[string][]string{
		mod + "schemas/...": {mod + "alloc", mod + "render", mod + "reconciler", mod + "boot", mod + "cmd"},
		mod + "alloc/...": {mod + "render", mod + "reconciler", mod + "boot", mod + "cmd",
			"github.com/go-git/", "github.com/fluxcd/", "k8s.io/client-go/"},
		mod + "render/...":     {mod + "reconciler", mod + "boot", mod + "cmd"},
		mod + "boot/...":       {mod + "reconciler", mod + "render", mod + "cmd"},
		mod + "reconciler/...": {mod + "cmd"},
		// The Git layer knows nothing of what the reconciler does with
		// the trees it reads: no model beyond its errors, no plan, no
		// render, no boot proxy, not the reconciler itself.
		mod + "reconciler/internal/gitrepo/...": {mod + "alloc", mod + "render", mod + "boot", mod + "cmd",
			mod + "reconciler", "k8s.io/client-go/"},
	}
	for pattern, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pattern).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pattern, err, out)
		}
		self := strings.TrimSuffix(pattern, "/...")
		for dep := range strings.FieldsSeq(string(out)) {
			if dep == self || strings.HasPrefix(dep, self+"/") {
				continue // a package tree may import itself
			}
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
		{bmh.AnnotationKernelParamsInspector, render.AnnotationKernelParamsInspector},
		{bmh.AnnotationKernelParamsInstaller, render.AnnotationKernelParamsInstaller},
		{bmh.LabelMachine, render.LabelMachine},
	} {
		if p[0] != p[1] {
			t.Errorf("boot/bmh reads %q, render writes %q", p[0], p[1])
		}
	}
}
