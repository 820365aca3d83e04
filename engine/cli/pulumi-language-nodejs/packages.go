package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// packageJSON is what a package.json says about a Pulumi resource plugin.
type packageJSON struct {
	Name    string                  `json:"name"`
	Version string                  `json:"version"`
	Pulumi  plugin.PulumiPluginJSON `json:"pulumi"`
}

// requiredPackages walks the node_modules folders Node resolves the program's packages from (its
// own and every one above it, as for a plugin inside an installed package) and returns one resource
// plugin per name and version that a package declares, scoped and nested packages included.
func requiredPackages(programDir string) ([]*pulumirpc.PackageDependency, error) {
	var roots []string
	for dir := filepath.Clean(programDir); ; dir = filepath.Dir(dir) {
		if info, err := os.Stat(filepath.Join(dir, "node_modules")); err == nil && info.IsDir() {
			roots = append(roots, filepath.Join(dir, "node_modules"))
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("no node_modules in %s or above it: install the program's packages first (npm ci)", programDir)
	}
	seen := map[string]*pulumirpc.PackageDependency{}
	for _, root := range roots {
		if err := collectPlugins(root, seen); err != nil {
			return nil, err
		}
	}
	packages := make([]*pulumirpc.PackageDependency, 0, len(seen))
	for _, dependency := range seen {
		packages = append(packages, dependency)
	}
	sort.Slice(packages, func(i, j int) bool {
		return packages[i].Name+packages[i].Version < packages[j].Name+packages[j].Version
	})
	return packages, nil
}

// collectPlugins adds the plugins that packages under one node_modules folder declare.
func collectPlugins(root string, seen map[string]*pulumirpc.PackageDependency) error {
	// node_modules may be a link (a second checkout sharing one install): walk what it points to.
	if resolved, err := filepath.EvalSymlinks(root); err == nil {
		root = resolved
	}
	return filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if entry.IsDir() || entry.Name() != "package.json" {
			return nil
		}
		// Only a package's own manifest: node_modules/<name>/package.json or node_modules/@scope/<name>/package.json.
		parent := filepath.Base(filepath.Dir(filepath.Dir(path)))
		grandparent := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(path))))
		if parent != "node_modules" && !(strings.HasPrefix(parent, "@") && grandparent == "node_modules") {
			return nil
		}
		dependency, err := pluginOf(path)
		if err != nil || dependency == nil {
			return err
		}
		seen[dependency.Name+"@"+dependency.Version] = dependency
		return nil
	})
}

// pluginOf reads one package.json; nil when the package carries no resource plugin.
func pluginOf(path string) (*pulumirpc.PackageDependency, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var manifest packageJSON
	if err := json.Unmarshal(raw, &manifest); err != nil {
		// node_modules holds test fixtures with broken manifests; they are not plugins.
		return nil, nil //nolint:nilerr
	}
	if !manifest.Pulumi.Resource {
		return nil, nil
	}
	name := manifest.Pulumi.Name
	if name == "" {
		if !strings.HasPrefix(manifest.Name, "@pulumi/") {
			return nil, fmt.Errorf("%s: a third-party Pulumi package must name its plugin in \"pulumi\": {\"name\": ...}", path)
		}
		name = strings.TrimPrefix(manifest.Name, "@pulumi/")
	}
	version := manifest.Pulumi.Version
	if version == "" {
		version = manifest.Version
	}
	if version == "" {
		return nil, fmt.Errorf("%s: no version for the %s plugin", path, name)
	}
	if !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	return &pulumirpc.PackageDependency{
		Name:    name,
		Kind:    "resource",
		Version: version,
		Server:  manifest.Pulumi.Server,
	}, nil
}
