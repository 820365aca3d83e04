//go:build tools

// Package tools pins Pulumi YAML's language host in this module, so that
// `go build github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml` builds it at the versions of
// go.mod: the pulumi-yaml release and the Pulumi SDK it was released against, which is not the CLI's
// (the language host talks to the CLI over gRPC only, so the two need not share a version).
package tools

import _ "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
