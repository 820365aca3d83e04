// Package shim exposes the upstream Terraform random provider's constructor, which lives in an
// internal package, to the molis-valkey engine build.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"

	upstream "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the upstream Terraform random provider (plugin framework).
func NewProvider() provider.Provider { return upstream.New() }
