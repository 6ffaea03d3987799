// Command pulumi-resource-kubernetes serves pulumi-kubernetes' provider, as the upstream
// cmd/pulumi-resource-kubernetes does. Upstream embeds schema files that `go generate` writes and
// the module zip does not carry; tools/build-tools writes them here (schema-embed.json with the
// release version set, terraform-mapping-embed.json) from the module's own schema.json before the
// build. They are build outputs, ignored by git.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
