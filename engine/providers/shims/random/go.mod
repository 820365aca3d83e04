// Our shim, named under the upstream provider's path so that it may import its internal/provider.
module github.com/terraform-providers/terraform-provider-random/shim

go 1.25.8
