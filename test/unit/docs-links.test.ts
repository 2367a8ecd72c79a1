// The docs hold together: every relative link in README.md, CHANGELOG.md and docs/*.md reaches a file that
// exists and, with a #anchor, a heading of it (GitHub's slugs); the README stays a front door that links
// every docs page, and each page links back to it.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

const root = path.join(__dirname, "..", "..");
const pages = [
    "README.md",
    "CHANGELOG.md",
    ...fs
        .readdirSync(path.join(root, "docs"))
        .filter((f) => f.endsWith(".md"))
        .sort()
        .map((f) => `docs/${f}`),
];

/** The lines GitHub renders as markdown: fenced code blocks left out. */
function proseLines(markdown: string): string[] {
    let fenced = false;
    return markdown.split("\n").filter((line) => {
        if (/^\s*(```|~~~)/.test(line)) {
            fenced = !fenced;
            return false;
        }
        return !fenced;
    });
}

/** GitHub's anchor for a heading: its text lowercased, punctuation dropped, spaces as "-", repeats numbered. */
function headingSlugs(markdown: string): string[] {
    const seen = new Map<string, number>();
    return proseLines(markdown).flatMap((line) => {
        const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
        if (!heading) {
            return [];
        }
        const text = heading[1].replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/[`*]/g, "");
        const base = text
            .toLowerCase()
            .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
            .replace(/ /g, "-");
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        return [n === 0 ? base : `${base}-${n}`];
    });
}

/** Every link target outside code: fenced blocks and inline code spans are not links. */
function linkTargets(markdown: string): string[] {
    return proseLines(markdown).flatMap((line) =>
        [...line.replace(/`[^`]*`/g, "").matchAll(/\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]),
    );
}

test("headingSlugs follows GitHub's rules", () => {
    const md = [
        "# What `pulumi up` waits for",
        "## Cluster peering or WAN federation",
        "### Limits",
        "```",
        "# not a heading",
        "```",
        "### Limits",
        "## Backup and restore (every cluster)",
        "## `datacenters[i].federation`: peering",
    ].join("\n");
    assert.deepEqual(headingSlugs(md), [
        "what-pulumi-up-waits-for",
        "cluster-peering-or-wan-federation",
        "limits",
        "limits-1",
        "backup-and-restore-every-cluster",
        "datacentersifederation-peering",
    ]);
});

for (const page of pages) {
    test(`${page}: every relative link reaches a file, and every #anchor a heading`, () => {
        const dead: string[] = [];
        for (const target of linkTargets(fs.readFileSync(path.join(root, page), "utf8"))) {
            if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
                continue; // https:, mailto:: not ours to check offline
            }
            const [file, anchor] = target.split("#", 2);
            const resolved =
                file === "" ? path.join(root, page) : path.join(root, path.dirname(page), decodeURIComponent(file));
            if (!fs.existsSync(resolved)) {
                dead.push(`${target}: no file ${path.relative(root, resolved)}`);
            } else if (anchor !== undefined && !headingSlugs(fs.readFileSync(resolved, "utf8")).includes(anchor)) {
                dead.push(`${target}: no heading with the anchor #${anchor} in ${path.relative(root, resolved)}`);
            }
        }
        assert.deepEqual(dead, [], `${page} has dead links`);
    });
}

test("README.md is a front door: at most 400 lines, linking every docs page", () => {
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
    assert.ok(readme.split("\n").length <= 400, `README.md has ${readme.split("\n").length} lines`);
    const linked = new Set(linkTargets(readme).map((t) => t.split("#")[0]));
    const orphans = pages.filter((p) => p !== "README.md" && !linked.has(p));
    assert.deepEqual(orphans, [], "README.md does not link these pages");
});

for (const page of pages.filter((p) => p.startsWith("docs/"))) {
    test(`${page} starts with its title and a summary that links back to the README`, () => {
        const [title, blank, ...rest] = fs.readFileSync(path.join(root, page), "utf8").split("\n");
        assert.match(title, /^# \S/, `${page} starts with a "# " title`);
        assert.equal(blank, "");
        const summary = rest.slice(0, rest.indexOf(""));
        assert.ok(summary.length > 0, `${page} has a summary paragraph under its title`);
        assert.ok(linkTargets(summary.join("\n")).includes("../README.md"), `${page}'s summary links to ../README.md`);
    });
}
