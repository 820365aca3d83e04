// Command pulumi-resource-random is the engine build's random provider: the upstream Terraform provider
// through pulumi-terraform-bridge, with our mapping (engine/providerinfo) and the schema that
// molis-tfgen generated from it.
package main

import (
	"context"
	_ "embed"

	pfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	"molis-valkey/engine/providers/providerinfo"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() {
	pfbridge.Main(context.Background(), "random", providerinfo.Random(metadata), pfbridge.ProviderMetadata{PackageSchema: schema})
}
