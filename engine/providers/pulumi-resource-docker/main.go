// Command pulumi-resource-docker is the engine build's docker provider: the SDKv2 part of the
// upstream Terraform Docker provider through pulumi-terraform-bridge, with our mapping
// (engine/providerinfo) and the schema that molis-tfgen generated from it.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"molis-valkey/engine/providers/providerinfo"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() {
	tfbridge.Main("docker", providerinfo.DockerVersion, providerinfo.Docker(metadata), schema)
}
