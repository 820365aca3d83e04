// Package providerinfo maps the upstream Terraform providers to the Pulumi packages that the
// program's SDKs (@pulumi/tls, @pulumi/random, @pulumi/docker) speak: the package name, the resource
// and function tokens, and the few property names and behaviours those SDKs were generated with.
//
// It is our own mapping, written against the tokens and property names of the npm SDKs in
// package-lock.json; tests/deployed/schema.deployed.test.ts proves that the schema each plugin serves
// has every token, property and type of those SDKs (all but pulumi-docker's own Image resource).
package providerinfo

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
)

const indexModule = "index"

// Versions of the plugins, as the SDKs in package-lock.json declare them in package.json
// `pulumi.version`. The build passes them in; these are the defaults for a plain `go build`.
var (
	TLSVersion    = "5.6.1"
	RandomVersion = "4.21.2"
	DockerVersion = "5.2.0"
)

// common fills what every mapped provider shares.
func common(info tfbridge.ProviderInfo, name, version string, metadata []byte) tfbridge.ProviderInfo {
	info.Name = name
	info.Version = version
	info.License = "Apache-2.0"
	info.Description = "molis-valkey engine build of the Terraform " + name + " provider, for @pulumi/" + name
	info.Repository = "https://github.com/pulumi/pulumi-" + name
	info.MetadataInfo = tfbridge.NewProviderMetadata(metadata)
	return info
}
