/** R15: several Docker hosts: the `hosts` setting read, members placed, placements that cannot survive a host's loss refused. */
import { resolveSettings } from "../../settings";
import { DockerHost, parseHostEntry, placeMembers, reviewPlacement } from "../../settings/placement";
import { endpoints, setDescription, topology } from "../../valkey/topology";
import { memberCertPlan } from "../../valkey/certPlan";
import { problemsOf } from "./settingsProblems";

const HOSTS = ["a unix:///var/run/docker.sock 10.0.0.11", "b ssh://deploy@10.0.0.12 10.0.0.12", "c ssh://deploy@10.0.0.13 10.0.0.13"];
const hostList = (entries: string[]): DockerHost[] => entries.map((entry) => parseHostEntry(entry) as DockerHost);

test("R15.1 a hosts entry is three words: a name, an ssh:// or unix:// engine (never tcp://), and an IPv4 address that is not loopback", () => {
    expect(parseHostEntry("b ssh://deploy@10.0.0.12 10.0.0.12")).toEqual({
        name: "b",
        dockerHost: "ssh://deploy@10.0.0.12",
        address: "10.0.0.12",
    });
    for (const bad of [
        "b ssh://deploy@10.0.0.12",
        "B ssh://x 10.0.0.12",
        "b http://x 10.0.0.12",
        "b tcp://10.0.0.12:2375 10.0.0.12",
        "b unix:///s 127.0.0.1",
        "b unix:///s 0.0.0.0",
        "b unix:///s valkey.internal",
        "b unix:///s 10.0.0.12 extra",
    ]) {
        expect([bad, parseHostEntry(bad)]).toEqual([bad, undefined]);
    }
    expect(problemsOf({ replicas: 2, hosts: ["b http://x 10.0.0.12"] })[0]).toMatch(
        /^hosts: "b http:\/\/x 10.0.0.12" is not valid; each entry must be "<name> <dockerHost> <address>"/,
    );
});

test("R15.1 by default one data node per host from the first, one Sentinel per host from the second; each listens and is published at a port of its own", () => {
    const set = topology(resolveSettings({ replicas: 2, hosts: HOSTS }).settings);
    expect(set.nodes.map((m) => [m.alias, m.host?.name, m.dial, m.port])).toEqual([
        ["valkey-0", "a", "10.0.0.11", 6379],
        ["valkey-1", "b", "10.0.0.12", 6380],
        ["valkey-2", "c", "10.0.0.13", 6381],
    ]);
    expect(set.sentinels.map((m) => [m.host?.name, m.port])).toEqual([
        ["b", 26379],
        ["c", 26380],
        ["a", 26381],
    ]);
    expect(endpoints(set.sentinels)).toEqual(["10.0.0.12:26379", "10.0.0.13:26380", "10.0.0.11:26381"]);
    // The supervisors announce and dial the host addresses; the names stay the members' identities.
    const described = setDescription(resolveSettings({ replicas: 2, hosts: HOSTS }).settings);
    expect(described.nodes[1]).toEqual({ name: "valkey-1", host: "10.0.0.12", port: 6380 });
    // One host: nothing changes.
    const single = topology(resolveSettings({ replicas: 2 }).settings);
    expect(single.nodes.map((m) => [m.dial, m.port, m.host])).toEqual([
        ["valkey-0", 6379, undefined],
        ["valkey-1", 6379, undefined],
        ["valkey-2", 6379, undefined],
    ]);
});

test("R15.1 a member's server certificate names what peers and clients dial: its host's address as well as its alias", () => {
    const settings = resolveSettings({ replicas: 2, hosts: HOSTS }).settings;
    const certs = memberCertPlan(settings, "valkey-1", "10.0.0.12");
    expect(certs.server.dnsNames).toEqual(["valkey-1", "localhost"]);
    expect(certs.server.ipAddresses).toEqual(["127.0.0.1", "10.0.0.12"]);
    expect(certs.peer.usages).toEqual(["digital_signature", "key_encipherment", "client_auth"]);
});

test("R15.2 two hosts: the host holding two of three Sentinels is named in a warning (its loss stops failovers), not the primary's", () => {
    const { settings, warnings } = resolveSettings({ replicas: 2, hosts: HOSTS.slice(0, 2) });
    const set = topology(settings);
    expect(set.nodes.map((m) => m.host?.name)).toEqual(["a", "b", "a"]);
    expect(set.sentinels.map((m) => m.host?.name)).toEqual(["b", "a", "b"]);
    expect(warnings).toEqual([
        expect.stringMatching(/^host b holds 2 of the 3 Sentinels: if it is lost, 1 remains, fewer than the quorum of 2/),
    ]);
    expect(resolveSettings({ replicas: 2, hosts: HOSTS }).warnings).toEqual([]);
});

test("R15.2 a placement that loses the quorum with one host, or crowds data nodes where it need not, fails with why", () => {
    expect(problemsOf({ replicas: 2, hosts: HOSTS, sentinelHosts: ["a", "a", "b"] })).toEqual([
        expect.stringMatching(
            /^sentinelHosts: \["a","a","b"\] is not valid; host a holds 2 of the 3 Sentinels: if it is lost, 1 remains, fewer than the quorum of 2, and no failover can happen until it returns; place at most 1 on any host/,
        ),
    ]);
    expect(problemsOf({ replicas: 2, hosts: HOSTS, nodeHosts: ["a", "b", "b"] })).toEqual([
        expect.stringMatching(
            /^nodeHosts: \["a","b","b"\] is not valid; it places 2 data nodes on host b while each of the 3 can have a host of its own/,
        ),
    ]);
    // Two data nodes on one host are fine where there are fewer hosts than nodes.
    expect(problemsOf({ replicas: 2, hosts: HOSTS.slice(0, 2), nodeHosts: ["a", "a", "b"] })).toEqual([]);
    // The same review, direct: five Sentinels on three hosts may put two on a host, not three.
    const three = hostList(HOSTS);
    const five = placeMembers(three, { nodes: 3, sentinels: 5 }, { nodeHosts: [], sentinelHosts: ["a", "a", "a", "b", "c"] });
    expect(reviewPlacement(three, five, 3).problems).toHaveLength(1);
    expect(reviewPlacement(three, placeMembers(three, { nodes: 3, sentinels: 5 }), 3)).toEqual({ problems: [], warnings: [] });
});

test("R15.2 hosts needs a replicated set, two or more distinct hosts, placements naming listed hosts, and ports that do not collide", () => {
    expect(problemsOf({ hosts: HOSTS })).toEqual([expect.stringMatching(/^hosts: .* is not valid; set replicas to 1 or more/)]);
    expect(problemsOf({ replicas: 2, hosts: HOSTS.slice(0, 1) })).toEqual([expect.stringMatching(/list 2 or more hosts/)]);
    expect(problemsOf({ replicas: 2, hosts: [HOSTS[0], HOSTS[0].replace(/^a/, "d")] })).toEqual([
        expect.stringMatching(/give each host its own address \(10\.0\.0\.11 appears more than once\)/),
    ]);
    expect(problemsOf({ replicas: 2, hosts: HOSTS, nodeHosts: ["a", "b", "z"] })).toEqual([
        expect.stringMatching(/^nodeHosts: .* name only hosts from hosts \(a, b, c\); z is not one/),
    ]);
    expect(problemsOf({ replicas: 2, hosts: HOSTS, sentinelHosts: ["a", "b"] })).toEqual([
        expect.stringMatching(/^sentinelHosts: .* name 3 hosts, one per Sentinel/),
    ]);
    expect(problemsOf({ replicas: 2, nodeHosts: ["a", "b", "c"] })).toEqual([
        expect.stringMatching(/^nodeHosts: .* list the Docker hosts in hosts first/),
    ]);
    expect(problemsOf({ replicas: 2, hosts: HOSTS, tlsPort: 26380 })).toEqual([
        expect.stringMatching(
            /^sentinelPort: 26379 is not valid; set a port so that 26379-26381 \(the Sentinels'\) does not overlap 26380-26382/,
        ),
    ]);
});
