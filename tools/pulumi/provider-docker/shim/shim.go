// Package shim exposes the upstream docker provider's SDKv2 constructor, which lives in an internal
// package. Upstream also muxes in a plugin-framework provider, but everything @pulumi/docker maps
// (containers, images, networks, volumes, ...) is in the SDKv2 half, which is what Pulumi bridges.
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	upstream "github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

func NewProvider(version string) *schema.Provider { return upstream.New(version)() }
