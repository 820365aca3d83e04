//go:build tools

// Package tools pins the Pulumi CLI's main package in this module, so that
// `go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi` builds it at the versions of go.mod.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
