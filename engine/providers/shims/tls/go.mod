// Our shim: Go lets a package import an internal package of the module whose path prefixes its own,
// so this module, named under the upstream provider's path, can reach its internal/provider.
module github.com/hashicorp/terraform-provider-tls/shim

go 1.25.8
