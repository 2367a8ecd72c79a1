// pulumi-resource-tls: the upstream Terraform tls provider (plugin framework) served through the real
// pulumi-terraform-bridge, under the tokens @pulumi/tls uses, as in pulumi/pulumi-tls's provider/resources.go.
package main

import (
	"context"
	"fmt"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/hashicorp/terraform-provider-tls/shim"
)

// Set at build time to the @pulumi/tls version in package.json (scripts/ensure-pulumi.sh).
var version = "0.0.0-dev"

func main() {
	res := func(file, name string) *tfbridge.ResourceInfo {
		return &tfbridge.ResourceInfo{Tok: tokens.Type("tls:index/" + file + ":" + name)}
	}
	fn := func(name string) *tfbridge.DataSourceInfo {
		return &tfbridge.DataSourceInfo{Tok: tokens.ModuleMember("tls:index/" + name + ":" + name)}
	}
	info := tfbridge.ProviderInfo{
		P:            pf.ShimProvider(shim.NewProvider()),
		Name:         "tls",
		Version:      version,
		MetadataInfo: tfbridge.NewProviderMetadata(nil),
		Resources: map[string]*tfbridge.ResourceInfo{
			"tls_cert_request":        res("certRequest", "CertRequest"),
			"tls_locally_signed_cert": res("locallySignedCert", "LocallySignedCert"),
			"tls_private_key":         res("privateKey", "PrivateKey"),
			"tls_self_signed_cert":    res("selfSignedCert", "SelfSignedCert"),
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"tls_certificate": fn("getCertificate"),
			"tls_public_key":  fn("getPublicKey"),
		},
		EnableZeroDefaultSchemaVersion: true,
	}

	// The engine does not ask for the package schema to run a program; the bridge only needs one to exist.
	schema := fmt.Sprintf(`{"name":"tls","version":%q}`, version)
	pf.Main(context.Background(), "tls", info, pf.ProviderMetadata{PackageSchema: []byte(schema)})
}
