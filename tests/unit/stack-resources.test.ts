/** R1, R7: what the stack creates besides the container: network, volumes, image. */
import * as pulumi from "@pulumi/pulumi";
import { children, fakeImageId, findResource, recordedOptions, resourcesOfType, TYPES } from "./mocks";
import { contextPathForBuild } from "../../components/imageContext";
import { deployStack, useMocks } from "./stackHarness";

beforeAll(async () => {
    await useMocks();
    await deployStack();
});

describe("network, volumes and image", () => {
    test("R1.2 creates the gateway-bridge bridge network on 10.30.1.0/24", () => {
        const network = findResource(TYPES.network, "-network").inputs;
        expect(network.name).toBe("gateway-bridge");
        expect(network.driver).toBe("bridge");
        expect(network.ipamConfigs).toEqual([{ subnet: "10.30.1.0/24" }]);
    });

    test("R7.1 data persists in the named volume molis-valkey-data mounted at /data", () => {
        const volume = findResource(TYPES.volume, "-data").inputs;
        expect(volume.name).toBe("molis-valkey-data");
        const valkey = findResource(TYPES.container, "-valkey").inputs;
        expect(valkey.volumes).toContainEqual({ volumeName: "molis-valkey-data", containerPath: "/data" });
    });

    test("R7.1 destroy keeps the data volume by default", () => {
        expect((recordedOptions.get("molis-valkey-data") as pulumi.CustomResourceOptions).retainOnDelete).toBe(true);
    });

    test("R1.1 the image is built locally FROM valkey/valkey:8-alpine, tagged by content; both containers run it by id", () => {
        const image = findResource(TYPES.image, "-image");
        expect(image.inputs.build.buildArgs).toEqual({ BASE_IMAGE: "valkey/valkey:8-alpine" });
        // Relative to the project folder (jest runs there, as Pulumi runs the program and the provider).
        expect(image.inputs.build.context).toMatch(/^\.build[/\\]image-[0-9a-f]{16}$/);
        expect(image.inputs.build.dockerfile).toBe("Dockerfile");
        expect(image.inputs.name).toMatch(/^molis-valkey:[0-9a-f]{16}$/);
        expect(image.inputs.name.endsWith(image.inputs.build.context.slice(-16))).toBe(true);
        expect(image.inputs.forceRemove).toBe(true);
        expect(image.inputs.keepLocally).toBeUndefined();
        const imageId = fakeImageId("molis-valkey-image");
        expect(findResource(TYPES.container, "-valkey").inputs.image).toBe(imageId);
        expect(findResource(TYPES.container, "-seed-secrets").inputs.image).toBe(imageId);
    });

    test("children are named after the component, so two stacks do not collide", () => {
        for (const resource of children()) {
            expect(resource.name.startsWith("molis-valkey-")).toBe(true);
        }
    });
});

describe("settings change what is created", () => {
    test("R1.2 attachToExistingNetwork joins the named network and creates none", async () => {
        await deployStack({ attachToExistingNetwork: true, networkName: "gw-existing" });
        expect(resourcesOfType(TYPES.network)).toHaveLength(0);
        const valkey = findResource(TYPES.container, "-valkey").inputs;
        expect(valkey.networksAdvanced).toEqual([{ name: "gw-existing", aliases: ["valkey"] }]);
    });

    test("R7.1 retainDataOnDestroy=false lets destroy remove the data volume", async () => {
        await deployStack({ retainDataOnDestroy: false });
        expect((recordedOptions.get("molis-valkey-data") as pulumi.CustomResourceOptions).retainOnDelete).toBe(false);
    });

    test("R12.3 the base image is a setting", async () => {
        await deployStack({ baseImage: "registry.example:5000/valkey/valkey:8.0.1-alpine" });
        expect(findResource(TYPES.image, "-image").inputs.build.buildArgs).toEqual({
            BASE_IMAGE: "registry.example:5000/valkey/valkey:8.0.1-alpine",
        });
    });

    test("a changed setting that reaches valkey.conf changes the image tag (and so the container)", async () => {
        await deployStack();
        const before = findResource(TYPES.image, "-image").inputs.name;
        await deployStack({ maxClients: 50 });
        expect(findResource(TYPES.image, "-image").inputs.name).not.toBe(before);
    });

    test("two stacks in one program get distinct child names", async () => {
        await deployStack({}, "blue");
        const blue = children().map((r) => r.name);
        expect(blue.every((n) => n.startsWith("blue-"))).toBe(true);
    });
});

describe("the image's build context path", () => {
    test("relative to the project folder, so deploys from another checkout read the same; absolute when outside it", () => {
        expect(contextPathForBuild("/work/a/.build/image-1", "/work/a")).toBe(".build/image-1");
        expect(contextPathForBuild("/work/b/.build/image-1", "/work/b")).toBe(".build/image-1");
        expect(contextPathForBuild("/elsewhere/image-1", "/work/a")).toBe("/elsewhere/image-1");
    });
});
