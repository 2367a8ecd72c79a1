// Node IDs derived from names: the same in every stack, so a restored catalog lists each agent as itself.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { nodeId } from "../../components/model/node-id";
import { devModel } from "../support/model";

describe("nodeId", () => {
    test("is a UUID (version 8, RFC 9562 variant) that Consul accepts", () => {
        assert.match(
            nodeId("dc1", "dc1-server1"),
            /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
    });

    test("the same datacenter and name give the same ID in every stack; another name or datacenter another ID", () => {
        assert.equal(nodeId("dc1", "dc1-server1"), nodeId("dc1", "dc1-server1"));
        assert.notEqual(nodeId("dc1", "dc1-server1"), nodeId("dc1", "dc1-server2"));
        assert.notEqual(nodeId("dc1", "x-server1"), nodeId("dc2", "x-server1"));
    });

    test("every agent of a large topology gets its own, and the model carries it", () => {
        // No demo services, so none for the dev stack's intentions to name.
        const dc = devModel({
            datacenters: [
                { name: "dc1", servers: 7, clients: 40, subnet: "10.9.0.0/24", httpPort: 8500, dnsPort: 8600 },
            ],
            intentions: [],
        }).datacenters[0];
        const agents = [...dc.servers, ...dc.clients];
        assert.equal(new Set(agents.map((a) => a.nodeId)).size, agents.length);
        assert.ok(agents.every((a) => a.nodeId === nodeId("dc1", a.name)));
    });
});
