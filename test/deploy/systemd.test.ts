import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

/*
 * deploy/systemd/*.service through systemd's own checks, offline (no systemd needs to run here):
 * `systemd-analyze verify` (every key known, the command found) and `systemd-analyze security
 * --offline=true` (the exposure score of the sandboxing). /opt/petgate and /usr/bin/node are this
 * checkout's and this node, so that the command exists.
 */

const units = fileURLToPath(new URL("../../deploy/systemd/", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "petgate-units-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const names = readdirSync(units).filter((f) => f.endsWith(".service"));

function installed(name: string): string {
  const text = readFileSync(join(units, name), "utf8")
    .replaceAll("/usr/bin/node ", `${process.execPath} `)
    .replaceAll("/opt/petgate/", root);
  writeFileSync(join(dir, name), text);
  return text;
}

describe("systemd units", () => {
  it("one for all roles and one per role", () => {
    expect(names.sort()).toEqual([
      "petgate-http.service",
      "petgate-listener.service",
      "petgate-worker.service",
      "petgate.service",
    ]);
  });

  it.each(names)("%s: systemd-analyze verify has nothing to say", (name) => {
    installed(name);
    const r = spawnSync("systemd-analyze", ["verify", `./${name}`], { cwd: dir, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(`${r.stdout}${r.stderr}`.trim()).toBe("");
  });

  it.each(names)(
    "%s: sandboxed (exposure OK), no root, only the capability it needs, the config from /etc/petgate",
    (name) => {
      const text = installed(name);
      const out = execFileSync("systemd-analyze", ["security", "--offline=true", `./${name}`], {
        cwd: dir,
        encoding: "utf8",
      });
      const score = Number(/Overall exposure level for \S+: ([\d.]+) OK/.exec(out)?.[1]);
      expect(score).toBeLessThanOrEqual(2);
      expect(text).toContain("DynamicUser=yes");
      expect(text).toContain("ProtectSystem=strict");
      expect(text).toContain("Environment=PETGATE_CONFIG=/etc/petgate/petgate.yml");
      // Only the listener binds port 162.
      const binds = name === "petgate.service" || name === "petgate-listener.service";
      expect(text.includes("AmbientCapabilities=CAP_NET_BIND_SERVICE")).toBe(binds);
      // Every role writes (spool, embedded Redis, MIB cache, SEL archive, alert history): each has a
      // state directory and uses it.
      expect(text).toMatch(/^StateDirectory=petgate/m);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: systemd's own variable syntax
      expect(text).toContain("--data-dir ${STATE_DIRECTORY}");
    },
  );
});
