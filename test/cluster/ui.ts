// The web UI: each datacenter's URL answers from the host, and a real browser logs in and sees the cluster.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { chromium, type Page } from "playwright-core";
import { projectRoot } from "../support/program";
import { api } from "./consul-cli";
import { chromiumPath } from "./prerequisites";
import type { Cluster } from "./state";

/** Where the screenshots land. */
export const artifacts = path.join(projectRoot, "test-artifacts");

export function uiTests(cluster: () => Cluster): void {
    describe("UI", () => {
        test("each uiUrls output answers from the host with the Consul UI over HTTPS", async () => {
            const { uiUrls, ca } = cluster();
            for (const [dc, url] of Object.entries(uiUrls)) {
                const { host, pathname } = new URL(url);
                const res = await api(host, pathname, { ca });
                assert.equal(res.status, 200, `${dc}: ${url}`);
                assert.match(res.body, /consul-ui/, `${dc}: ${url} is not the Consul UI`);
            }
        });

        test("a headless Chromium logs in with the token and shows both datacenters and every node", async () => {
            const { uiUrls, token } = cluster();
            for (const [dc, url] of Object.entries(uiUrls)) {
                await withUiPage(url, token, async (page) => {
                    await page.goto(`${url}/nodes`);
                    const expectedNodes =
                        dc === "dc1"
                            ? ["dc1-server1", "dc1-server2", "dc1-server3", "dc1-client1"]
                            : ["dc2-server1", "dc2-client1"];
                    for (const node of expectedNodes) {
                        await page.getByRole("link", { name: node, exact: true }).waitFor({ timeout: 20_000 });
                    }
                    assert.equal(
                        (await page.getByText(/^\d+ total$/).innerText()).trim(),
                        `${expectedNodes.length} total`,
                        `${dc} nodes list count`,
                    );
                    // The datacenter picker in the side bar lists every WAN-federated datacenter.
                    await page.getByRole("button", { name: dc, exact: true }).click();
                    await page.getByText("WAN federated datacenters").waitFor({ timeout: 10_000 });
                    const items = (await page.locator("li", { hasText: /^\s*dc\d/ }).allInnerTexts()).map((t) =>
                        t.replace(/\s+/g, " ").trim(),
                    );
                    assert.ok(
                        items.some((t) => t.startsWith("dc1 Primary")),
                        `${dc} picker lists dc1 as primary: ${items.join(" | ")}`,
                    );
                    assert.ok(
                        items.some((t) => t.startsWith("dc2")),
                        `${dc} picker lists dc2: ${items.join(" | ")}`,
                    );
                    await page.screenshot({ path: path.join(artifacts, `ui-${dc}.png`) });
                    if (dc === "dc1") {
                        // KV needs a token: the seeded keys show because the login took.
                        await page.goto(`${url}/kv/example-app/config/`);
                        await page.getByRole("link", { name: "greeting", exact: true }).waitFor({ timeout: 20_000 });
                        await page.screenshot({ path: path.join(artifacts, "ui-dc1-kv.png") });
                    }
                });
            }
        });
    });
}

/**
 * A headless Chromium's page of the UI at `url`, logged in with `token`, for `use`; the browser is closed
 * however it ends. The certificate itself is verified against the CA by the TLS probe: Chromium has no way
 * to be given it here.
 */
export async function withUiPage(url: string, token: string, use: (page: Page) => Promise<void>): Promise<void> {
    fs.mkdirSync(artifacts, { recursive: true });
    const browser = await chromium.launch({
        executablePath: chromiumPath,
        args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, ignoreHTTPSErrors: true });
        await page.goto(`${url}/services`);
        await logIn(page, token);
        await use(page);
    } finally {
        await browser.close();
    }
}

/** The UI's own login: the person icon (the auth menu), "Log in", then the token form. */
async function logIn(page: Page, token: string): Promise<void> {
    await page.getByRole("button", { name: "Auth menu" }).click({ timeout: 20_000 });
    await page
        .locator(":visible", { hasText: /^\s*log ?in\s*$/i })
        .last()
        .click({ timeout: 10_000 });
    const input = page.getByLabel(/token/i).first();
    await input.fill(token);
    await input.press("Enter");
    await page.getByText("You are now logged in.").waitFor({ timeout: 20_000 });
}
