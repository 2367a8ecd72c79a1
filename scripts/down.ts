// `npm run down`: destroys the dev stack that `npm start` made, checks that nothing of it is left on any
// of its Docker hosts, and says what stays: the images, and the project's backend with the stack's history.
import * as path from "node:path";
import { dockerSync } from "./docker-cli";
import { localDir, openDevStack } from "./project-stack";
import { pulumi, runMain } from "./stack-access";
import { projectRoot } from "./stack-config";

async function main(): Promise<number> {
    if (pulumi(["destroy", "--yes", "--skip-preview"], true).code !== 0) {
        console.error("npm run down: pulumi destroy failed (see above); run it again, or npm run pulumi -- destroy");
        return 1;
    }
    // After the destroy, which needs no config: a config edited since cannot stop it.
    const stack = openDevStack();
    const left = stack.model.datacenters.flatMap((dc) =>
        ["container", "network", "volume"].flatMap((kind) => {
            const listed = dockerSync([
                ...stack.engine(dc.name),
                kind,
                "ls",
                ...(kind === "container" ? ["--all"] : []),
                "--quiet",
                "--filter",
                `label=consul.stack=${stack.name}`,
            ]);
            return listed.stdout
                .trim()
                .split("\n")
                .filter(Boolean)
                .map((id) => `${kind} ${id}`);
        }),
    );
    if (left.length > 0) {
        console.error(
            `npm run down: pulumi destroy finished, but Docker still has ${[...new Set(left)].join(", ")} labelled consul.stack=${stack.name}`,
        );
        return 1;
    }
    const kept = stack.config.keepData === true ? " Its data volumes were kept (keepData)." : "";
    const images = [stack.model.image, stack.model.demoImage, ...(stack.model.mesh ? [stack.model.envoyImage] : [])];
    console.log(
        [
            "",
            `npm run down: the ${stack.name} cluster is gone: no container, network or volume of it is left.${kept}`,
            `  Kept: the images ${images.join(", ")} (docker rmi to remove them),`,
            `  and the stack's history and passphrase in ${path.relative(projectRoot, localDir)}/ (rm -rf it to forget the stack).`,
            "",
        ].join("\n"),
    );
    return 0;
}

runMain("npm run down", main);
