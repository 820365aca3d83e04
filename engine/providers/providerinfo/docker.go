package providerinfo

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/terraform-providers/terraform-provider-docker/shim"
)

// Docker maps the SDKv2 part of kreuzwerker/terraform-provider-docker to the `docker` package.
//
// What @pulumi/docker names differently from the bridge's defaults: docker_image is RemoteImage
// (the SDK's Image is a resource of pulumi-docker's own, not a Terraform one), docker_config is
// ServiceConfig, `command` and `networks_advanced` keep their singular names, the provider's
// `host` defaults to DOCKER_HOST or the local socket, and resources without a name get an
// auto-name. A container is replaced by deleting it first: two containers cannot hold one name.
func Docker(metadata []byte) tfbridge.ProviderInfo {
	const pkg = "docker"
	info := common(tfbridge.ProviderInfo{
		P: shimv2.NewProvider(shim.NewProvider(DockerVersion)),
		Config: map[string]*tfbridge.SchemaInfo{
			"host": {Default: &tfbridge.DefaultInfo{
				Value:   "unix:///var/run/docker.sock",
				EnvVars: []string{"DOCKER_HOST"},
			}},
			"registry_auth": {Name: "registryAuth", MaxItemsOne: tfbridge.False()},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_container": {
				Tok:                 tfbridge.MakeResource(pkg, indexModule, "Container"),
				DeleteBeforeReplace: true,
				Fields: map[string]*tfbridge.SchemaInfo{
					"command":           {Name: "command"},
					"networks_advanced": {Name: "networksAdvanced"},
				},
			},
			"docker_image": {
				Tok:    tfbridge.MakeResource(pkg, indexModule, "RemoteImage"),
				Fields: map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}},
			},
			"docker_config": {Tok: tfbridge.MakeResource(pkg, indexModule, "ServiceConfig")},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_image": {Tok: tfbridge.MakeDataSource(pkg, indexModule, "getRemoteImage")},
		},
	}, pkg, DockerVersion, metadata)
	info.MustComputeTokens(tokens.SingleModule("docker_", indexModule, tokens.MakeStandard(pkg)))
	info.SetAutonaming(255, "-")
	return info
}
