// IPv4 CIDR arithmetic for the fixed addresses of every agent. Pure: no Pulumi, no Docker.
import { isIpv4Address } from "./describe";

export interface Ipv4Cidr {
    readonly text: string;
    readonly network: number;
    readonly prefix: number;
}

/** An address isIpv4Address accepts, as a number. */
const numberOf = (address: string): number => address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);

function formatIpv4(value: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Parses "a.b.c.d/p"; returns a reason instead when the text is not a network address in CIDR form. */
export function parseCidr(text: unknown): Ipv4Cidr | string {
    if (typeof text !== "string") {
        return "must be an IPv4 CIDR string such as 10.201.1.0/24";
    }
    const [address, prefixText, ...rest] = text.split("/");
    if (!isIpv4Address(address) || rest.length > 0 || !/^\d+$/.test(prefixText ?? "")) {
        return `must be an IPv4 CIDR such as 10.201.1.0/24, not "${text}"`;
    }
    const network = numberOf(address);
    const prefix = Number(prefixText);
    if (prefix < 8 || prefix > 24) {
        return `must have a prefix length from /8 to /24 (room for the fixed agent addresses), not /${prefix}`;
    }
    if (network % 2 ** (32 - prefix) !== 0) {
        return `must be a network address: "${text}" has host bits set`;
    }
    return { text, network, prefix };
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
    const aEnd = a.network + 2 ** (32 - a.prefix);
    const bEnd = b.network + 2 ** (32 - b.prefix);
    return a.network < bEnd && b.network < aEnd;
}

/** The address `offset` hosts into the network; offset 1 is Docker's gateway. */
export function hostAddress(cidr: Ipv4Cidr, offset: number): string {
    return formatIpv4(cidr.network + offset);
}

/** How many hosts into the network `address` is (as hostAddress counts); undefined when it is not an address in it. */
export function hostOffset(cidr: Ipv4Cidr, address: string): number | undefined {
    const offset = isIpv4Address(address) ? numberOf(address) - cidr.network : -1;
    return offset >= 0 && offset < 2 ** (32 - cidr.prefix) ? offset : undefined;
}
