package providerinfo

import (
	"github.com/hashicorp/terraform-provider-tls/shim"
	pfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
)

// TLS maps hashicorp/terraform-provider-tls (plugin framework) to the `tls` package:
// tls_private_key -> tls:index/privateKey:PrivateKey, tls_certificate -> tls:index/getCertificate:getCertificate.
func TLS(metadata []byte) tfbridge.ProviderInfo {
	info := common(tfbridge.ProviderInfo{
		P:         pfbridge.ShimProvider(shim.NewProvider()),
		GitHubOrg: "hashicorp",
		// States written before a schema version existed are version 0, as @pulumi/tls expects.
		EnableZeroDefaultSchemaVersion: true,
	}, "tls", TLSVersion, metadata)
	info.MustComputeTokens(tokens.SingleModule("tls_", indexModule, tokens.MakeStandard("tls")))
	return info
}
