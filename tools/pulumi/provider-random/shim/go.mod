// Nested under the upstream module's path so that Go allows importing its internal/provider package.
module github.com/terraform-providers/terraform-provider-random/shim

go 1.25.8
