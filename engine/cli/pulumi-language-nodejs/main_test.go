package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestConfigEnvUsesTheFormEverySDKReads(t *testing.T) {
	out, err := configEnv(map[string]string{"molis-valkey:maxClients": "50", "docker:host": "unix:///run/docker.sock"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"molis-valkey:config:maxClients": "50", "docker:config:host": "unix:///run/docker.sock"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("configEnv = %v, want %v", got, want)
	}
	if _, err := configEnv(map[string]string{"no-namespace": "x"}); err == nil {
		t.Fatal("a key without a namespace must be refused")
	}
}

func TestParseOptionsDefaultsAndRefusals(t *testing.T) {
	options, err := parseOptions(map[string]any{})
	if err != nil || !options.typescript || options.packageManager != "auto" {
		t.Fatalf("defaults: %+v, %v", options, err)
	}
	options, err = parseOptions(map[string]any{"typescript": false, "nodeargs": "--max-old-space-size=512", "packagemanager": "npm"})
	if err != nil || options.typescript || options.nodeargs != "--max-old-space-size=512" || options.packageManager != "npm" {
		t.Fatalf("set: %+v, %v", options, err)
	}
	for _, bad := range []map[string]any{{"typescript": "yes"}, {"nodeargs": 3}, {"packagemanager": "pip"}} {
		if _, err := parseOptions(bad); err == nil {
			t.Fatalf("%v must be refused", bad)
		}
	}
}

func TestRunArgumentsFollowTheSDKEntryPointsUsage(t *testing.T) {
	req := &pulumirpc.RunRequest{
		MonitorAddress: "127.0.0.1:1", Project: "p", Stack: "s", DryRun: true, Parallel: 4, Args: []string{"extra"},
		Info: &pulumirpc.ProgramInfo{RootDirectory: "/r", ProgramDirectory: "/r", EntryPoint: "."},
	}
	got := runArguments(req, "/r/node_modules/@pulumi/pulumi/cmd/run/index.js", "127.0.0.1:2", "")
	want := []string{
		"/r/node_modules/@pulumi/pulumi/cmd/run/index.js", "--monitor", "127.0.0.1:1", "--engine", "127.0.0.1:2",
		"--project", "p", "--root-directory", "/r", "--stack", "s", "--pwd", "/r", "--dry-run", "--parallel", "4", ".", "extra",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("runArguments =\n%v\nwant\n%v", got, want)
	}
}

func TestRequiredPackagesFindsScopedAndNestedPluginsOnly(t *testing.T) {
	dir := t.TempDir()
	write := func(path, content string) {
		full := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("node_modules/@pulumi/docker/package.json", `{"name":"@pulumi/docker","version":"5.2.0","pulumi":{"resource":true,"name":"docker","version":"5.2.0"}}`)
	write("node_modules/@pulumi/pulumi/package.json", `{"name":"@pulumi/pulumi","version":"3.248.0"}`)
	write("node_modules/a/node_modules/@pulumi/random/package.json", `{"name":"@pulumi/random","version":"4.21.2","pulumi":{"resource":true}}`)
	write("node_modules/@pulumi/docker/test/fixture/package.json", `{"name":"fixture","pulumi":{"resource":true}}`)
	write("node_modules/broken/package.json", `{not json`)

	got, err := requiredPackages(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, p.Name+"@"+p.Version)
	}
	if want := []string{"docker@v5.2.0", "random@v4.21.2"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("requiredPackages = %v, want %v", names, want)
	}

	linked := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "node_modules"), filepath.Join(linked, "node_modules")); err != nil {
		t.Fatal(err)
	}
	if again, err := requiredPackages(linked); err != nil || len(again) != 2 {
		t.Fatalf("a linked node_modules: %v, %v", again, err)
	}

	// A plugin inside an installed package: its packages resolve from the node_modules above it.
	plugin := filepath.Join(dir, "node_modules", "a", "pkg", "plugin")
	if err := os.MkdirAll(plugin, 0o755); err != nil {
		t.Fatal(err)
	}
	if above, err := requiredPackages(plugin); err != nil || len(above) != 2 {
		t.Fatalf("a plugin folder inside node_modules: %v, %v", above, err)
	}

	if _, err := requiredPackages(t.TempDir()); err == nil {
		t.Fatal("a program without node_modules must fail with the fix (npm ci)")
	}
}
