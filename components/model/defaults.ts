// The value of every stack setting that has one: the stack config's defaults (Pulumi.yaml declares the same,
// and a unit test keeps the two in step) and ConsulFederation's, so a program may pass only its datacenters.
// Pure: no Pulumi, no files.
import type { IntentionSettings } from "./mesh";
import type { StackSettings } from "./settings";

export const stackDefaults = {
    image: "hashicorp/consul:1.22.7",
    wanSubnet: "10.201.0.0/24",
    publishAddress: "127.0.0.1",
    namePrefix: "",
    demoImage: "consul-multi-dc/demo-web:1.0",
    envoyImage: "consul-multi-dc/envoy:1.36.2-consul1.22.7",
    keepData: false,
    dnsAnonymousRead: true,
    failoverQueries: true,
    mesh: false,
    meshGateways: true,
    intentions: [] as readonly IntentionSettings[],
} as const satisfies Partial<StackSettings>;

/** The settings that have a default. */
export type DefaultedSetting = keyof typeof stackDefaults;

/** `given` over the defaults; a key given as undefined keeps its default. */
export function withDefaults<T extends Partial<Pick<StackSettings, DefaultedSetting>>>(
    given: T,
): T & Pick<StackSettings, DefaultedSetting> {
    const or = <K extends DefaultedSetting>(key: K) => given[key] ?? stackDefaults[key];
    return {
        ...given,
        image: or("image"),
        wanSubnet: or("wanSubnet"),
        publishAddress: or("publishAddress"),
        namePrefix: or("namePrefix"),
        demoImage: or("demoImage"),
        envoyImage: or("envoyImage"),
        keepData: or("keepData"),
        dnsAnonymousRead: or("dnsAnonymousRead"),
        failoverQueries: or("failoverQueries"),
        mesh: or("mesh"),
        meshGateways: or("meshGateways"),
        intentions: or("intentions"),
    };
}
