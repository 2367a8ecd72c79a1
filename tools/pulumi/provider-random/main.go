// pulumi-resource-random: the upstream Terraform random provider (plugin framework) served through the
// real pulumi-terraform-bridge, under the tokens @pulumi/random uses: random_<x> -> random:index/random<X>:Random<X>,
// as pulumi/pulumi-random's provider/resources.go computes them.
package main

import (
	"context"
	"errors"
	"fmt"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// Set at build time to the @pulumi/random version in package.json (scripts/ensure-pulumi.sh).
var version = "0.0.0-dev"

// random_bytes has no "id" attribute in Terraform; like the real provider, its base64 value is the ID.
func bytesID(_ context.Context, state resource.PropertyMap) (resource.ID, error) {
	v, ok := state["base64"]
	if !ok {
		return "", errors.New("random_bytes state has no base64 property")
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if !v.IsString() {
		return "", fmt.Errorf("random_bytes base64 is %v, not a string", v.TypeString())
	}
	return resource.ID(v.StringValue()), nil
}

func main() {
	info := tfbridge.ProviderInfo{
		P:            pf.ShimProvider(shim.NewProvider()),
		Name:         "random",
		Version:      version,
		MetadataInfo: tfbridge.NewProviderMetadata(nil),
		Resources: map[string]*tfbridge.ResourceInfo{
			"random_bytes": {ComputeID: bytesID},
		},
		EnableAccurateBridgePreview: true,
		EnableRawStateDelta:         true,
	}
	standard := tokens.MakeStandard("random")
	info.MustComputeTokens(tokens.SingleModule("random_", "index", func(module, name string) (string, error) {
		return standard(module, "Random"+name)
	}))

	// The engine does not ask for the package schema to run a program; the bridge only needs one to exist.
	schema := fmt.Sprintf(`{"name":"random","version":%q}`, version)
	pf.Main(context.Background(), "random", info, pf.ProviderMetadata{PackageSchema: []byte(schema)})
}
