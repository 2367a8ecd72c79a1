// pulumi-resource-docker: the upstream Terraform docker provider (kreuzwerker) served through the real
// pulumi-terraform-bridge, under the type tokens and property names that @pulumi/docker sends.
// The map follows pulumi/pulumi-docker's provider/resources.go; everything else is the bridge's default.
package main

import (
	"unicode"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-providers/terraform-provider-docker/shim"
)

// Set at build time to the @pulumi/docker version in package.json (scripts/ensure-pulumi.sh).
var version = "0.0.0-dev"

// member names the file of the generated SDK after the member: "Container" -> "docker:index/container:Container".
func member(name string) string {
	return "docker:index/" + string(unicode.ToLower(rune(name[0]))) + name[1:] + ":" + name
}

func resource(name string, fields map[string]*tfbridge.SchemaInfo) *tfbridge.ResourceInfo {
	return &tfbridge.ResourceInfo{Tok: tokens.Type(member(name)), Fields: fields}
}

func dataSource(name string) *tfbridge.DataSourceInfo {
	return &tfbridge.DataSourceInfo{Tok: tokens.ModuleMember(member(name))}
}

func main() {
	container := resource("Container", map[string]*tfbridge.SchemaInfo{
		// A list, but one command line: the SDK calls it "command", not "commands".
		"command": {Name: "command"},
		// Not pluralised by the SDK either.
		"networks_advanced": {Name: "networksAdvanced"},
	})
	// Two containers with the same name cannot exist at once.
	container.DeleteBeforeReplace = true

	info := tfbridge.ProviderInfo{
		P:       shimv2.NewProvider(shim.NewProvider(version)),
		Name:    "docker",
		Version: version,
		Config: map[string]*tfbridge.SchemaInfo{
			"host": {Default: &tfbridge.DefaultInfo{Value: "unix:///var/run/docker.sock", EnvVars: []string{"DOCKER_HOST"}}},
			"registry_auth": {Name: "registryAuth", MaxItemsOne: tfbridge.False()},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_buildx_builder": resource("BuildxBuilder", nil),
			"docker_config":         resource("ServiceConfig", nil),
			"docker_container":      container,
			// docker_image pulls an image: the SDK's native Image (a build) is a different resource.
			"docker_image":          resource("RemoteImage", map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}}),
			"docker_network":        resource("Network", nil),
			"docker_plugin":         resource("Plugin", nil),
			"docker_registry_image": resource("RegistryImage", nil),
			"docker_secret":         resource("Secret", nil),
			"docker_service":        resource("Service", nil),
			"docker_tag":            resource("Tag", nil),
			"docker_volume":         resource("Volume", nil),
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_image":                    dataSource("getRemoteImage"),
			"docker_logs":                     dataSource("getLogs"),
			"docker_network":                  dataSource("getNetwork"),
			"docker_plugin":                   dataSource("getPlugin"),
			"docker_registry_image":           dataSource("getRegistryImage"),
			"docker_registry_image_manifests": dataSource("getRegistryImageManifests"),
		},
	}
	info.SetAutonaming(255, "-")

	// No package schema: the engine does not ask for one to run a program.
	tfbridge.Main("docker", version, info, nil)
}
