package providerinfo

import (
	pfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// Random maps terraform-provider-random (plugin framework) to the `random` package. The SDK keeps
// the "Random" prefix in its names: random_password -> random:index/randomPassword:RandomPassword.
func Random(metadata []byte) tfbridge.ProviderInfo {
	info := common(tfbridge.ProviderInfo{
		P:         pfbridge.ShimProvider(shim.NewProvider()),
		GitHubOrg: "hashicorp",
	}, "random", RandomVersion, metadata)
	standard := tokens.MakeStandard("random")
	info.MustComputeTokens(tokens.SingleModule("random_", indexModule, func(module, name string) (string, error) {
		return standard(module, "Random"+name)
	}))
	return info
}
