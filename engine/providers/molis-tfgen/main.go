// Command molis-tfgen generates the Pulumi schema and bridge metadata of one of the engine build's
// providers from our mapping (engine/providerinfo):
//
//	molis-tfgen tls|random|docker schema --out DIR --skip-docs --skip-examples
//
// The provider binaries embed what it writes (schema.json, bridge-metadata.json).
package main

import (
	"fmt"
	"os"

	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"molis-valkey/engine/providers/providerinfo"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: molis-tfgen tls|random|docker schema --out DIR [--skip-docs --skip-examples]")
		os.Exit(2)
	}
	provider := os.Args[1]
	// The bridge's command reads its own arguments from os.Args: drop the provider name.
	os.Args = append([]string{os.Args[0]}, os.Args[2:]...)
	switch provider {
	case "tls":
		pftfgen.Main("tls", providerinfo.TLS(nil))
	case "random":
		pftfgen.Main("random", providerinfo.Random(nil))
	case "docker":
		tfgen.Main("docker", providerinfo.DockerVersion, providerinfo.Docker(nil))
	default:
		fmt.Fprintf(os.Stderr, "molis-tfgen: unknown provider %q; expected tls, random or docker\n", provider)
		os.Exit(2)
	}
}
