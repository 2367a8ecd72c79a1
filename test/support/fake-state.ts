// Computed values for the unit tier: fixed, so assertions can name them.
import type { ComputeState } from "./program";

export const fakeGossipKey = Buffer.alloc(32, 7).toString("base64");

export const fakeState: ComputeState = (type, name) => {
    switch (type) {
        case "docker:index/remoteImage:RemoteImage":
            return { imageId: `sha256:${name}` };
        case "random:index/randomBytes:RandomBytes":
            return { base64: fakeGossipKey, hex: Buffer.from(fakeGossipKey, "base64").toString("hex") };
        default:
            return {};
    }
};
