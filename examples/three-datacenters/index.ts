// Another Pulumi program that uses the federation as a library: three datacenters, with no stack config
// of its own. Run it from this directory with `pulumi up` (it shares the repository's node_modules).
// It imports the component's source, so it needs no build; a program outside this repository installs the
// package and imports it by name, `import { ConsulFederation } from "consul-multi-dc"`, which loads the
// built JavaScript in dist/ (test/unit/package.test.ts runs such a program).
import { ConsulFederation } from "../../components";

// Only the datacenters are required; every other setting has the stack config's default.
const federation = new ConsulFederation("lab", {
    // The primary first; every datacenter on its own LAN, the servers of all three on one WAN network.
    datacenters: [
        {
            name: "east",
            servers: 3,
            clients: 1,
            subnet: "10.210.1.0/24",
            httpPort: 9500,
            dnsPort: 9600,
            services: [{ name: "web", port: 8080 }],
        },
        {
            name: "west",
            servers: 3,
            clients: 1,
            subnet: "10.210.2.0/24",
            httpPort: 9501,
            dnsPort: 9601,
            services: [{ name: "web", port: 8080 }],
        },
        { name: "edge", servers: 1, clients: 2, subnet: "10.210.3.0/24", httpPort: 9502, dnsPort: 9602 },
    ],
    // Its own names and WAN subnet, so it can share a Docker host with the dev stack.
    wanSubnet: "10.210.0.0/24",
    namePrefix: "lab-",
});

export const uiUrls = federation.uiUrls;
export const containers = federation.containers;
export const aclBootstrapToken = federation.aclBootstrapToken;
export const caCertPem = federation.caCertPem;
