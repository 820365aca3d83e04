// Command pulumi-language-nodejs is the engine build's Node.js language host.
//
// Pulumi publishes its own language host as a Go module that the Go module proxy here does not
// serve, so this is ours: a small gRPC LanguageRuntime server on the SDK's published types. It does
// what a `pulumi up` of a Node.js program needs: it reports the resource plugins the program's
// node_modules declare, and runs the program with the SDK's own entry point
// (@pulumi/pulumi/cmd/run, which compiles TypeScript with ts-node) against the engine's resource
// monitor, passing the stack's configuration as the SDK reads it.
//
// It also runs a Node.js plugin (RunPlugin): a component provider in a folder with PulumiPlugin.yaml,
// which is how a program in another language uses a component written in TypeScript.
//
// Not carried over from Pulumi's host: the monitor proxy and the file pipes that serve the SDK's
// deprecated synchronous invokes (the program uses none), the debugger attach, bun, policy packs,
// program and SDK generation. Those RPCs answer Unimplemented.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// The SDK's entry point, resolved from the program's directory.
const runModule = "@pulumi/pulumi/cmd/run"

// The SDK's exit code for "the program failed and already told the user why".
const exitAfterUserActionableMessage = 32

func main() {
	tracing := flag.String("tracing", "", "Zipkin-compatible tracing endpoint, passed on to the program")
	runtimeName := flag.String("runtime", "nodejs", "the runtime; only nodejs is supported")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	if *runtimeName != "nodejs" {
		cmdutil.Exit(fmt.Errorf("unsupported runtime %q: this language host runs Node.js only", *runtimeName))
	}
	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	stop := make(chan bool)
	go func() {
		<-ctx.Done()
		close(stop)
	}()
	// Exit when the engine that started us goes away.
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, cancel); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start the engine health check: %w", err))
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, &host{engineAddress: engineAddress, tracing: *tracing})
			return nil
		},
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start the language host: %w", err))
	}
	// The engine reads the port from our first line of output.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host stopped serving: %w", err))
	}
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
	tracing       string
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// GetRequiredPackages lists the resource plugins that packages under the program's node_modules
// declare (`"pulumi": {"resource": true}` in their package.json).
func (h *host) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	packages, err := requiredPackages(req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

// Run runs the program once, as `node <sdk run entry> --monitor ... <entry point>`.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	if info == nil {
		return nil, errors.New("RunRequest carries no program info; this language host needs a CLI that sends it")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the PATH: " + err.Error()}, nil
	}
	runPath, err := resolveModule(node, info.GetProgramDirectory(), runModule)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	options, err := parseOptions(info.GetOptions().AsMap())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	configJSON, err := configEnv(req.GetConfig())
	if err != nil {
		return &pulumirpc.RunResponse{Error: "cannot pass the stack configuration: " + err.Error()}, nil
	}
	secretKeys, err := json.Marshal(nonNil(req.GetConfigSecretKeys()))
	if err != nil {
		return nil, err
	}

	env := append(os.Environ(), "PULUMI_CONFIG="+configJSON, "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))
	if options.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if options.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+options.tsconfig)
	}
	args := append(strings.Fields(options.nodeargs), runArguments(req, runPath, h.engineAddress, h.tracing)...)

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Env = env
	// The SDK may switch its stdio to non-blocking; give it writers of its own, not our files.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return &pulumirpc.RunResponse{Error: "could not run the program with node: " + err.Error()}, nil
		}
		if exit.ExitCode() == exitAfterUserActionableMessage {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exit.ExitCode()),
		}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// The SDK's entry point for a plugin (a component provider): it requires the plugin's folder, which
// serves the provider and prints the port the engine reads.
const runPluginModule = "@pulumi/pulumi/cmd/run-plugin"

// RunPlugin runs a plugin written for Node.js (a folder with PulumiPlugin.yaml, runtime nodejs), as
// `node <sdk run-plugin entry> <plugin folder> <engine address>`, in the engine's working directory
// and environment, and streams its output to the engine, which reads the provider's port from it.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	info := req.GetInfo()
	if info == nil {
		return errors.New("RunPluginRequest carries no program info; this language host needs a CLI that sends it")
	}
	if req.GetKind() == "analyzer" {
		return errors.New("this language host runs resource plugins only; policy packs are not supported")
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the PATH: %w", err)
	}
	pluginDir := info.GetProgramDirectory()
	runPath, err := resolveModule(node, pluginDir, runPluginModule)
	if err != nil {
		return err
	}
	options, err := parseOptions(info.GetOptions().AsMap())
	if err != nil {
		return fmt.Errorf("%s/PulumiPlugin.yaml: %w", pluginDir, err)
	}
	env := req.GetEnv()
	if options.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if options.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+options.tsconfig)
	}
	args := append(strings.Fields(options.nodeargs), runPath, pluginDir)
	args = append(args, req.GetArgs()...)

	cmd := exec.CommandContext(server.Context(), node, args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("plugin %s exited with code %d", pluginDir, exit.ExitCode())
		}
		return fmt.Errorf("could not run plugin %s with node: %w", pluginDir, err)
	}
	return closer.Close()
}

// InstallDependencies installs the program's packages with its package manager (`pulumi install`).
func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	options, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return err
	}
	if _, err := npm.Install(server.Context(), options.packageManager, req.GetInfo().GetProgramDirectory(),
		false /* production */, stdout, stderr); err != nil {
		return err
	}
	return closer.Close()
}

// About tells `pulumi about` which node runs programs.
func (h *host) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the PATH: %w", err)
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("node --version failed: %w", err)
	}
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimSpace(string(out))}, nil
}

// runArguments are the SDK entry point's flags (see its usage text in @pulumi/pulumi/cmd/run).
func runArguments(req *pulumirpc.RunRequest, runPath, engineAddress, tracing string) []string {
	args := []string{runPath}
	flagIfSet := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	info := req.GetInfo()
	flagIfSet("monitor", req.GetMonitorAddress())
	flagIfSet("engine", engineAddress)
	flagIfSet("organization", req.GetOrganization())
	flagIfSet("project", req.GetProject())
	flagIfSet("root-directory", info.GetRootDirectory())
	flagIfSet("stack", req.GetStack())
	flagIfSet("pwd", info.GetProgramDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flagIfSet("parallel", strconv.Itoa(int(req.GetParallel())))
	flagIfSet("tracing", tracing)
	args = append(args, info.GetEntryPoint())
	return append(args, req.GetArgs()...)
}

// configEnv renders the stack configuration as the SDK reads it from PULUMI_CONFIG: keys in the
// `<namespace>:config:<name>` form, which every SDK version understands.
func configEnv(cfg map[string]string) (string, error) {
	out := make(map[string]string, len(cfg))
	for key, value := range cfg {
		parsed, err := config.ParseKey(key)
		if err != nil {
			return "", err
		}
		out[parsed.Namespace()+":config:"+parsed.Name()] = value
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func nonNil(keys []string) []string {
	if keys == nil {
		return []string{}
	}
	return keys
}

// resolveModule asks node where a module resolves from the program's directory.
func resolveModule(node, dir, module string) (string, error) {
	cmd := exec.Command(node, "-e", fmt.Sprintf("process.stdout.write(require.resolve(%q))", module))
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cannot find %s from %s (is the program's node_modules installed? run npm ci): %w",
			module, dir, err)
	}
	return string(out), nil
}

// runtimeOptions are the `runtime.options` of Pulumi.yaml that a Node.js program may set.
type runtimeOptions struct {
	typescript     bool
	tsconfig       string
	nodeargs       string
	packageManager npm.PackageManagerType
}

func parseOptions(raw map[string]any) (runtimeOptions, error) {
	options := runtimeOptions{typescript: true, packageManager: npm.AutoPackageManager}
	if v, ok := raw["typescript"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return options, fmt.Errorf("runtime option typescript must be true or false, not %v", v)
		}
		options.typescript = b
	}
	for name, target := range map[string]*string{"tsconfig": &options.tsconfig, "nodeargs": &options.nodeargs} {
		if v, ok := raw[name]; ok {
			s, isString := v.(string)
			if !isString {
				return options, fmt.Errorf("runtime option %s must be a string, not %v", name, v)
			}
			*target = s
		}
	}
	if v, ok := raw["packagemanager"]; ok {
		pm, _ := v.(string)
		switch pm {
		case "auto", "npm", "yarn", "pnpm", "bun":
			options.packageManager = npm.PackageManagerType(pm)
		default:
			return options, fmt.Errorf("runtime option packagemanager must be auto, npm, yarn, pnpm or bun, not %v", v)
		}
	}
	return options, nil
}
