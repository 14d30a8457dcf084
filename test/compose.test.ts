import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { BlockList } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../src/config/load.js";
import type { Config } from "../src/config/schema.js";
import { parseCidr, parseHostPort } from "../src/net/address.js";
import { simAddresses, simConfigSchema } from "../src/sim/config.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const ROLES = ["listener", "worker", "http"] as const;
const PETGATE_IMAGE = "petgate:local";

interface Port {
  host_ip?: string;
  published: number;
  target: number;
  protocol: string;
}

interface Service {
  image?: string;
  build?: { context: string };
  command?: string[];
  entrypoint?: string[];
  container_name?: string;
  environment?: Record<string, string>;
  ports?: (string | Record<string, unknown>)[];
  volumes?: string[];
  secrets?: { source: string; target?: string }[];
  depends_on?: Record<string, { condition: string }>;
  networks?: Record<string, { ipv4_address?: string } | null>;
  cap_drop?: string[];
  cap_add?: string[];
  healthcheck?: { test: string[] };
  deploy?: { replicas?: number };
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, { ipam?: { config?: { subnet: string }[] } }>;
  secrets?: Record<string, { file?: string; environment?: string }>;
}

/** The compose file as Compose itself resolves it (anchors merged, defaults filled, paths absolute). */
async function resolvedCompose(): Promise<Compose> {
  try {
    const { stdout } = await run("docker-compose", ["-f", "docker-compose.yml", "config"], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" },
    });
    return parse(stdout) as Compose;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      throw new Error(
        "docker-compose is not installed: scripts/bootstrap.mjs installs it (Debian package docker-compose); run `npm run bootstrap`",
      );
    throw err;
  }
}

/** Compose prints short ("127.0.0.1:8162:8162/tcp") and long ({target, published, protocol}) forms. */
function ports(service: Service): Port[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p !== "string")
      return {
        ...(typeof p.host_ip === "string" && { host_ip: p.host_ip }),
        published: Number(p.published),
        target: Number(p.target),
        protocol: String(p.protocol ?? "tcp"),
      };
    const m = /^(?:(.+):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(p);
    if (!m) throw new Error(`unexpected port ${p}`);
    return {
      ...(m[1] && { host_ip: m[1] }),
      published: Number(m[2]),
      target: Number(m[3]),
      protocol: m[4] ?? "tcp",
    };
  });
}

/** `--flag value` pairs of an argument list. */
function flags(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  args.forEach((a, i) => {
    const next = args[i + 1];
    if (a.startsWith("--") && next !== undefined && !next.startsWith("--")) out.set(a.slice(2), next);
  });
  return out;
}

const CONFIG_IN_CONTAINER = "/etc/petgate/petgate.yml";

let compose: Compose;
let config: Config;
const service = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`no service ${name}`);
  return s;
};
const petgateServices = () => Object.entries(compose.services).filter(([, s]) => s.image === PETGATE_IMAGE);
/** The simulator's command line: `sh -c "… exec node bin/petgate.js sim ARGS"`. */
const simArgs = () => {
  const script = service("sim").entrypoint?.join(" ") ?? "";
  return script.slice(script.indexOf("bin/petgate.js sim ") + "bin/petgate.js sim ".length).split(/\s+/);
};

beforeAll(async () => {
  compose = await resolvedCompose();
  const mount = service("listener").volumes?.find((v) => v.split(":")[1] === CONFIG_IN_CONTAINER);
  if (!mount) throw new Error(`the listener mounts no config at ${CONFIG_IN_CONTAINER}`);
  config = loadConfig(mount.split(":")[0] as string);
}, 30_000);

describe("docker-compose.yml, as `docker-compose config` resolves it", () => {
  it("has Redis, the three serve roles, the simulator fleet, its provisioning and a mail catcher", () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ["http", "listener", "mailpit", "provision", "redis", "sim", "worker"].sort(),
    );
    expect(service("mailpit").image).toMatch(/^axllent\/mailpit/);
    expect(service("provision").command).toEqual(["pef", "apply", "--config", CONFIG_IN_CONTAINER]);
  });

  it("runs one role per serve service, built from this Dockerfile with its entrypoint", () => {
    for (const role of ROLES) {
      const s = service(role);
      expect(s.command).toEqual(["serve", "--role", role, "--config", CONFIG_IN_CONTAINER]);
      expect(s.entrypoint).toBeUndefined();
      expect(s.image).toBe(PETGATE_IMAGE);
      expect(s.build?.context).toBe(root.replace(/\/$/, ""));
      expect(s.volumes).toContain(`${join(root, "compose/petgate.yml")}:${CONFIG_IN_CONTAINER}:ro`);
    }
  });

  it("publishes UDP 162 for the BMCs, and HTTP 8162 and every other TCP port on loopback only", () => {
    expect(ports(service("listener"))).toEqual([{ published: 162, target: 162, protocol: "udp" }]);
    expect(ports(service("http"))).toEqual([
      { host_ip: "127.0.0.1", published: 8162, target: 8162, protocol: "tcp" },
    ]);
    for (const [name, s] of Object.entries(compose.services))
      for (const p of ports(s).filter((p) => p.protocol === "tcp"))
        expect(p.host_ip, `${name} publishes ${p.published}`).toBe("127.0.0.1");
  });

  it("keeps Redis' append-only file on a named volume, and reports Redis healthy", () => {
    const redis = service("redis");
    expect(redis.image).toMatch(/^redis:7/);
    expect(redis.command?.join(" ")).toContain("--appendonly yes");
    const data = redis.volumes?.find((v) => v.split(":")[1] === "/data");
    expect(Object.keys(compose.volumes ?? {})).toContain(data?.split(":")[0]);
    expect(redis.healthcheck?.test).toContain("ping");
  });

  it("lets workers scale: no container name, no ports, no fixed address, no writable mount", () => {
    const worker = service("worker");
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports ?? []).toEqual([]);
    expect(Object.values(worker.networks ?? {}).every((n) => n?.ipv4_address === undefined)).toBe(true);
    expect(worker.volumes?.every((v) => v.endsWith(":ro"))).toBe(true);
    expect(worker.deploy?.replicas).toBeGreaterThan(1);
  });

  it("points every serve role at the one Redis, and starts them once it is healthy", () => {
    for (const role of ROLES) {
      const s = service(role);
      expect(s.environment?.PETGATE_REDIS).toBe("redis://redis:6379");
      expect(s.depends_on?.redis?.condition).toBe("service_healthy");
      const shared = Object.keys(s.networks ?? {}).filter((n) => n in (service("redis").networks ?? {}));
      expect(shared.length, `${role} shares a network with redis`).toBeGreaterThan(0);
    }
  });

  it("keeps NET_BIND_SERVICE in every petgate container: node carries it as a file capability", () => {
    expect(
      petgateServices()
        .map(([name]) => name)
        .sort(),
    ).toEqual(["http", "listener", "provision", "sim", "worker"].sort());
    for (const [name, s] of petgateServices()) {
      expect(s.cap_drop, name).toEqual(["ALL"]);
      expect(s.cap_add, name).toEqual(["NET_BIND_SERVICE"]);
    }
  });

  it("gives secrets as files outside git and the build context, and never as values", async () => {
    const secrets = Object.entries(compose.secrets ?? {});
    expect(secrets.length).toBeGreaterThan(0);
    for (const [name, s] of secrets) {
      expect(s.file, name).toBe(join(root, "compose/secrets", name));
      const ignored = await run("git", ["check-ignore", "-q", `compose/secrets/${name}`], { cwd: root }).then(
        () => true,
        () => false,
      );
      expect(ignored, `git ignores compose/secrets/${name}`).toBe(true);
    }
    expect(readFileSync(join(root, ".dockerignore"), "utf8").split("\n")).toContain("compose/secrets");
    for (const [name, s] of Object.entries(compose.services))
      for (const key of Object.keys(s.environment ?? {}))
        expect(key, `${name} has no secret in its environment`).not.toMatch(/PASSWORD|TOKEN|SECRET|KEY/i);
  });
});

describe("compose/petgate.yml agrees with docker-compose.yml", () => {
  it("binds the ports the compose file publishes, on every interface of the container", () => {
    const listen = parseHostPort(config.listener.bind ?? "", { host: "", port: 0 });
    expect(listen).toEqual({ host: "0.0.0.0", port: ports(service("listener"))[0]?.target });
    const http = parseHostPort(config.http.bind, { host: "", port: 0 });
    expect(http).toEqual({ host: "0.0.0.0", port: ports(service("http"))[0]?.target });
  });

  it("sends the BMCs' PETs to the listener's fixed address, which the listener accepts", () => {
    const address = service("listener").networks?.petnet?.ipv4_address;
    const subnet = parseCidr(compose.networks?.petnet?.ipam?.config?.[0]?.subnet ?? "");
    if (!address || !subnet) throw new Error("the listener needs a fixed address in a subnet of petnet");
    const inSubnet = new BlockList();
    inSubnet.addSubnet(subnet.address, subnet.prefix, "ipv4");
    expect(inSubnet.check(address, "ipv4")).toBe(true);
    expect(config.pef?.destinations.map((d) => d.ip)).toEqual([address]);
    expect(config.listener.allowSources).toContain(`${subnet.address}/${subnet.prefix}`);
    expect(flags(simArgs()).get("trap-port")).toBe(String(config.listener.bind?.split(":").at(-1)));
  });

  it("lists exactly the simulator's BMCs, by service name and port", () => {
    const f = flags(simArgs());
    const sim = simConfigSchema.parse({
      count: Number(f.get("count")),
      listen: f.get("listen"),
      spread: f.get("spread"),
    });
    const simPorts = simAddresses(sim).map((a) => a.port);
    expect(config.bmcs.map((b) => b.host)).toEqual(simPorts.map((p) => `sim:${p}`));
    expect(f.get("password-env")).toBeDefined();
  });

  it("mounts each secret the config reads into the services that read it, and none into the listener", () => {
    const mounted = (name: string) => (service(name).secrets ?? []).map((s) => `/run/secrets/${s.source}`);
    const bmcPassword = config.defaults.passwordFile ?? "";
    for (const name of ["worker", "provision", "sim"]) expect(mounted(name)).toContain(bmcPassword);
    expect(service("sim").entrypoint?.join(" ")).toContain(`cat ${bmcPassword}`);
    expect(mounted("http")).toEqual([config.http.token?.file]);
    expect(mounted("listener")).toEqual([]);
  });

  it("mails to the catcher on the compose network", () => {
    const hosts = (config.receivers ?? []).map((r) => r.email?.host);
    expect(hosts).toEqual(["mailpit"]);
  });
});

describe("Dockerfile", () => {
  const text = readFileSync(join(root, "Dockerfile"), "utf8");
  const dockerfile = DockerfileParser.parse(text);
  const stages = () => {
    const out: { from: string; name?: string; instructions: Instruction[] }[] = [];
    for (const i of dockerfile.getInstructions()) {
      if (i.getKeyword() === "FROM") {
        const [from = "", as, name] = i.getArguments().map((a) => a.getValue());
        out.push({ from, ...(as?.toUpperCase() === "AS" && name && { name }), instructions: [] });
      } else out.at(-1)?.instructions.push(i);
    }
    return out;
  };
  const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());
  const copiesFromContext = () =>
    dockerfile
      .getInstructions()
      .filter((i) => i.getKeyword() === "COPY" && !i.getTextContent().includes("--from="))
      .flatMap((i) => args(i).slice(0, -1));

  it("passes dockerfile-utils' checks (the linter of the VS Code Docker extension)", () => {
    expect(validate(text)).toEqual([]);
  });

  it("builds in a node:20 stage, then runs in a fresh one as a non-root user", () => {
    const [build, runtime, ...more] = stages();
    expect(more).toEqual([]);
    expect(build?.from).toBe("node:20-bookworm-slim");
    expect(runtime?.from).toBe("node:20-bookworm-slim");
    const runs = (s: typeof build) => s?.instructions.filter((i) => i.getKeyword() === "RUN").map(args);
    expect(runs(build)?.flat()).toEqual(
      expect.arrayContaining(["npm", "ci", "build", "prune", "--omit=dev"]),
    );
    const fromBuild = runtime?.instructions.filter((i) =>
      i.getTextContent().includes(`--from=${build?.name}`),
    );
    expect(fromBuild?.map((i) => args(i)[0])).toEqual([
      "/src/package.json",
      "/src/node_modules",
      "/src/dist",
    ]);
    const last = runtime?.instructions.findLast((i) => ["USER", "RUN"].includes(i.getKeyword()));
    expect(last?.getKeyword()).toBe("USER");
    expect(args(last as Instruction)[0]).not.toMatch(/^(0|root)(:|$)/);
  });

  it("lets node bind ports below 1024, and runs `petgate serve` by default", () => {
    expect(text).toMatch(/setcap cap_net_bind_service=\+ep "\$\(readlink -f \/usr\/local\/bin\/node\)"/);
    const exec = (keyword: string) =>
      JSON.parse(
        dockerfile
          .getInstructions()
          .find((i) => i.getKeyword() === keyword)
          ?.getArgumentsContent() ?? "null",
      );
    expect(exec("ENTRYPOINT")).toEqual(["node", "bin/petgate.js"]);
    expect(exec("CMD")).toEqual(["serve"]);
    expect(readFileSync(join(root, "bin/petgate.js"), "utf8")).toContain("../dist/src/cli/main.js");
  });

  it("copies everything `npm run build` compiles, and the build context holds it", () => {
    const build = JSON.parse(readFileSync(join(root, "tsconfig.build.json"), "utf8")) as {
      extends: string;
      include: string[];
    };
    const copied = copiesFromContext();
    for (const need of [
      "package.json",
      "package-lock.json",
      "tsconfig.build.json",
      build.extends,
      ...build.include,
    ])
      expect(copied.map((c) => c.replace(/^\.\//, ""))).toContain(need.replace(/^\.\//, ""));
    const ignore = dockerIgnore();
    for (const source of copied) {
      expect(existsSync(join(root, source)), source).toBe(true);
      expect(ignore(source), `.dockerignore leaves out ${source}`).toBe(false);
    }
    for (const local of ["node_modules", "dist", ".petgate", ".git", "compose/secrets/api_token"])
      expect(ignore(local), `.dockerignore leaves out ${local}`).toBe(true);
  });
});

/** A .dockerignore matcher: patterns are anchored at the context root; `*` stays within one segment. */
function dockerIgnore(): (path: string) => boolean {
  const rules = readFileSync(join(root, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = (negate ? l.slice(1) : l).replace(/^\/|\/$/g, "");
      const source = pattern
        .split("**")
        .map((part) =>
          part
            .replace(/[.+^${}()|[\]\\]/g, "\\$&")
            .replaceAll("*", "[^/]*")
            .replaceAll("?", "[^/]"),
        )
        .join(".*");
      return { negate, re: new RegExp(`^${source}(/|$)`) };
    });
  return (path) => {
    let ignored = false;
    for (const r of rules) if (r.re.test(path.replace(/^\.\//, ""))) ignored = !r.negate;
    return ignored;
  };
}
