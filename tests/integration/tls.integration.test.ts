/** R1.8, R2.1 on a real valkey-server: TLS only, client certificates from our CA required, TLS 1.2+. */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect, ConnectionOptions } from "node:tls";
import { pemBundle } from "../../valkey/caRotation";
import { certPlan } from "../../valkey/certPlan";
import { resolveSettings } from "../../settings";
import { createCsr, issueLeaf, issueStandaloneCa, signCsr } from "../../lib/certificates";
import { createFixture, Fixture } from "./valkeyServer";

let fixture: Fixture;

beforeAll(async () => {
    fixture = await createFixture();
    await fixture.start();
}, 60000);
afterAll(async () => {
    await fixture?.cleanup();
});

/** Opens a TLS connection to `on` (the suite's server unless given), sends AUTH and PING, and resolves the reply or the error. */
function tlsExchange(options: ConnectionOptions, user = "mcp-admin", on: Fixture = fixture): Promise<string> {
    const password = readFileSync(on.render.paths.passwordFile("mcp-admin"), "utf8").trim();
    return new Promise((resolve) => {
        const socket = tlsConnect({ host: "127.0.0.1", port: on.render.port, servername: "localhost", ...options });
        let data = "";
        const done = (result: string): void => {
            socket.destroy();
            resolve(result);
        };
        socket.setTimeout(5000, () => done("timeout"));
        socket.on("secureConnect", () => socket.write(`AUTH ${user} ${password}\r\nPING\r\n`));
        socket.on("data", (chunk) => {
            data += chunk.toString();
            if (data.includes("PONG") || data.startsWith("-")) {
                done(data);
            }
        });
        socket.on("error", (error) => done(`error: ${error.message}`));
        socket.on("close", () => done(data === "" ? "closed" : data));
    });
}

function ownClient(): ConnectionOptions {
    const { paths } = fixture.render;
    return {
        ca: readFileSync(paths.caCert),
        cert: readFileSync(paths.userCert("mcp-admin")),
        key: readFileSync(paths.userKey("mcp-admin")),
    };
}

describe("TLS only (R1.8, R2.1)", () => {
    test("a valid client (our CA, client certificate, password) gets in over TLS 1.3 and TLS 1.2", async () => {
        expect(await tlsExchange(ownClient())).toBe("+OK\r\n+PONG\r\n");
        expect(await tlsExchange({ ...ownClient(), maxVersion: "TLSv1.2" })).toBe("+OK\r\n+PONG\r\n");
    });

    test("plaintext is refused: the TLS port does not speak RESP in the clear", async () => {
        const reply = await new Promise<string>((resolve) => {
            const socket = netConnect(fixture.render.port, "127.0.0.1", () => socket.write("PING\r\n"));
            let data = "";
            socket.setTimeout(5000, () => {
                socket.destroy();
                resolve(`timeout:${data}`);
            });
            socket.on("data", (chunk) => (data += chunk.toString()));
            socket.on("error", () => resolve(`error:${data}`));
            socket.on("close", () => resolve(`closed:${data}`));
        });
        expect(reply).not.toContain("PONG");
        expect(reply).toMatch(/^(closed|error):/);
    });

    test("no plaintext port is open (port 0)", () => {
        expect(readFileSync(fixture.render.paths.conf, "utf8")).toMatch(/^port 0$/m);
    });

    test("TLS without a client certificate is refused", async () => {
        const { cert: _cert, key: _key, ...withoutCert } = ownClient();
        const reply = await tlsExchange(withoutCert);
        expect(reply).toMatch(/^error: .*certificate required/);
    });

    test("a client certificate from another CA is refused", async () => {
        const plan = certPlan(resolveSettings().settings);
        const other = await issueStandaloneCa({ ...plan.ca, commonName: "attacker CA" });
        const forged = await other.client(plan.clients["mcp-admin"]);
        const reply = await tlsExchange({ ca: readFileSync(fixture.render.paths.caCert), cert: forged.certPem, key: forged.keyPem });
        expect(reply).toMatch(/^error: .*unknown ca/);
    }, 30000);

    test("the server certificate is not accepted as a client certificate (clientAuth usage required)", async () => {
        const { paths } = fixture.render;
        const reply = await tlsExchange({
            ca: readFileSync(paths.caCert),
            cert: readFileSync(paths.serverCert),
            key: readFileSync(paths.serverKey),
        });
        expect(reply).toMatch(/^error: .*unsupported certificate/);
    });

    test.each(["TLSv1", "TLSv1.1"] as const)("%s is refused", async (version) => {
        // SECLEVEL=0 lets this client offer old protocols, so the refusal is the server's.
        const reply = await tlsExchange({ ...ownClient(), minVersion: version, maxVersion: version, ciphers: "DEFAULT:@SECLEVEL=0" });
        expect(reply).toMatch(/^error: .*(protocol|version|alert)/i);
    });

    test("the server certificate names localhost and 127.0.0.1 (clients verify it)", async () => {
        const { paths } = fixture.render;
        const viaIp = await tlsExchange({ ...ownClient(), servername: undefined, ca: readFileSync(paths.caCert) });
        expect(viaIp).toContain("PONG");
        const wrongName = await tlsExchange({ ...ownClient(), servername: "evil.example" });
        expect(wrongName).toMatch(/error: .*(altnames|Hostname)/i);
    });
});

test("R19.1 a server trusting a bundle of two CAs (tls-ca-cert-file holds both) lets in clients of either and refuses a third CA's", async () => {
    const bundled = await createFixture();
    try {
        const { paths } = bundled.render;
        const plan = certPlan(resolveSettings().settings);
        const next = await issueStandaloneCa({ ...plan.ca, commonName: "the next CA" });
        const third = await issueStandaloneCa({ ...plan.ca, commonName: "a third CA" });
        const bundle = join(bundled.dir, "ca-bundle.crt");
        writeFileSync(bundle, pemBundle([readFileSync(paths.caCert, "utf8"), next.ca.certPem]));
        await bundled.start([`tls-ca-cert-file ${bundle}`]);
        const serverCa = readFileSync(paths.caCert);
        const ofCurrent = { ca: serverCa, cert: readFileSync(paths.userCert("mcp-admin")), key: readFileSync(paths.userKey("mcp-admin")) };
        const ofNext = await next.client(plan.clients["mcp-admin"]);
        const ofThird = await third.client(plan.clients["mcp-admin"]);
        expect(await tlsExchange(ofCurrent, "mcp-admin", bundled)).toContain("PONG");
        expect(await tlsExchange({ ca: serverCa, cert: ofNext.certPem, key: ofNext.keyPem }, "mcp-admin", bundled)).toContain("PONG");
        expect(await tlsExchange({ ca: serverCa, cert: ofThird.certPem, key: ofThird.keyPem }, "mcp-admin", bundled)).toMatch(
            /^error: .*unknown ca/,
        );
        // Without the bundle the next CA's client is a stranger: the suite's own server trusts one CA.
        const ownCa = readFileSync(fixture.render.paths.caCert);
        expect(await tlsExchange({ ca: ownCa, cert: ofNext.certPem, key: ofNext.keyPem })).toMatch(/^error: .*unknown ca/);
    } finally {
        await bundled.cleanup();
    }
}, 60000);

test("R19.3 a server presenting a new CA's certificate with that CA cross-signed by the old one lets in a client trusting only the old CA and one trusting only the new; once it presents no cross-signed CA and trusts only the new, the old CA's client is refused", async () => {
    const crossed = await createFixture();
    try {
        const plan = certPlan(resolveSettings().settings);
        const old = await issueStandaloneCa({ ...plan.ca, commonName: "the old CA" });
        const next = await issueStandaloneCa({ ...plan.ca, commonName: "the new CA" });
        // The new CA's key and subject, signed by the old CA: a chain from the new CA's certificates to the old one.
        const crossSigned = await signCsr(await createCsr(next.ca.keyPem, { ...plan.ca, commonName: "the new CA" }), old.ca, {
            ...plan.ca,
            isCa: true,
        });
        const server = await issueLeaf(plan.server, next.ca);
        const file = (name: string, content: string): string => {
            const path = join(crossed.dir, name);
            writeFileSync(path, content, { mode: 0o600 });
            return path;
        };
        const key = file("server.key", server.keyPem);
        const oldClient = await old.client(plan.clients["mcp-admin"]);
        const newClient = await next.client(plan.clients["mcp-admin"]);
        const asOldOnly = { ca: old.ca.certPem, cert: oldClient.certPem, key: oldClient.keyPem };
        const asNewOnly = { ca: next.ca.certPem, cert: newClient.certPem, key: newClient.keyPem };

        // Steps 1 and 2 of a rotation: both CAs trusted, the new CA's server certificate sent with the cross-signed CA.
        const during = await crossed.start([
            `tls-cert-file ${file("server-and-cross.crt", pemBundle([server.certPem, crossSigned]))}`,
            `tls-key-file ${key}`,
            `tls-ca-cert-file ${file("both.crt", pemBundle([old.ca.certPem, next.ca.certPem]))}`,
        ]);
        expect(await tlsExchange(asOldOnly, "mcp-admin", crossed)).toContain("PONG");
        expect(await tlsExchange(asNewOnly, "mcp-admin", crossed)).toContain("PONG");
        await during.stop();

        // Step 3: the old CA dropped.
        await crossed.start([
            `tls-cert-file ${file("server.crt", pemBundle([server.certPem]))}`,
            `tls-key-file ${key}`,
            `tls-ca-cert-file ${file("new.crt", pemBundle([next.ca.certPem]))}`,
        ]);
        expect(await tlsExchange(asNewOnly, "mcp-admin", crossed)).toContain("PONG");
        expect(await tlsExchange(asOldOnly, "mcp-admin", crossed)).toMatch(/^error: /);
        // Trusting both CAs itself, it is still refused: its client certificate is the old CA's, which the server no longer trusts.
        expect(await tlsExchange({ ...asOldOnly, ca: pemBundle([old.ca.certPem, next.ca.certPem]) }, "mcp-admin", crossed)).toMatch(
            /^error: .*unknown ca/,
        );
    } finally {
        await crossed.cleanup();
    }
}, 60000);
