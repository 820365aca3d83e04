// Package shim exposes the upstream Terraform TLS provider's constructor, which lives in an internal
// package, to the molis-valkey engine build.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"

	upstream "github.com/hashicorp/terraform-provider-tls/internal/provider"
)

// NewProvider returns the upstream Terraform TLS provider (plugin framework).
func NewProvider() provider.Provider { return upstream.New() }
