// Nested under the upstream module's path so that Go allows importing its internal/provider package.
module github.com/hashicorp/terraform-provider-tls/shim

go 1.25.8
