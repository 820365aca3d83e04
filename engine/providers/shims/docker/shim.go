// Package shim exposes the upstream Terraform Docker provider's SDKv2 constructor, which lives in an
// internal package, to the molis-valkey engine build.
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"

	upstream "github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// NewProvider returns the upstream Terraform Docker provider's SDKv2 part: containers, images,
// networks, volumes and the rest that @pulumi/docker maps. Its plugin-framework part (compose,
// actions, the containers data source) has no counterpart in the @pulumi/docker SDK.
func NewProvider(version string) *schema.Provider { return upstream.New(version)() }
