import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/load.js";
import { AlertmanagerSink } from "../../src/sinks/alertmanager.js";
import { buildSinks } from "../../src/sinks/build.js";
import { EmailSink } from "../../src/sinks/email.js";
import { WebhookSink } from "../../src/sinks/webhook.js";
import { sampleGroup, startHttpReceiver } from "../support/http-receiver.js";

const ENV = "PETGATE_TEST_BUILD_SECRET";
const SECRET = "s3cr3t-value-never-shown";

afterEach(() => {
  delete process.env[ENV];
});

const YAML = `
routes:
  receiver: ops-mail
  routes:
    - receiver: hooks
      continue: true
    - receiver: am
receivers:
  - name: ops-mail
    email:
      host: smtp.example.test
      port: 587
      requireTLS: true
      username: petgate
      password: { env: ${ENV} }
      from: petgate@example.test
      to: [ops@example.test]
  - name: hooks
    webhook:
      url: https://hooks.example.test/petgate
      secret: { env: ${ENV} }
      timeoutMs: 2000
  - name: am
    alertmanager:
      url: http://127.0.0.1:9093
`;

function problems(text: string): string[] {
  try {
    parseConfig(text, "petgate.yml");
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("buildSinks", () => {
  it("builds a sink for each receiver of every kind", async () => {
    process.env[ENV] = SECRET;
    const sinks = buildSinks(parseConfig(YAML, "petgate.yml"));
    try {
      expect([...sinks.keys()]).toEqual(["ops-mail", "hooks", "am"]);
      expect(sinks.get("ops-mail")).toBeInstanceOf(EmailSink);
      expect(sinks.get("hooks")).toBeInstanceOf(WebhookSink);
      expect(sinks.get("am")).toBeInstanceOf(AlertmanagerSink);
      expect([...sinks.values()].map((s) => s.name)).toEqual(["ops-mail", "hooks", "am"]);
    } finally {
      await Promise.all([...sinks.values()].map((s) => s.close?.()));
    }
  });

  it("names the receiver whose secret is missing, never a secret", () => {
    const config = parseConfig(YAML, "petgate.yml");
    expect(() => buildSinks(config)).toThrow(
      `receiver "ops-mail": email password: environment variable ${ENV} is not set`,
    );
  });

  it("a webhook receiver sends the format its config names, petgate's by default", async () => {
    const receiver = await startHttpReceiver();
    const sinks = buildSinks(
      parseConfig(
        `receivers:
  - { name: plain, webhook: { url: "${receiver.url}" } }
  - { name: am-shaped, webhook: { url: "${receiver.url}", format: alertmanager } }
`,
        "petgate.yml",
      ),
    );
    try {
      for (const name of ["plain", "am-shaped"])
        expect(await sinks.get(name)?.send(sampleGroup())).toEqual({ outcome: "delivered" });
      const versions = receiver.requests.map((r) => JSON.parse(r.body.toString("utf8")).version);
      expect(versions).toEqual(["petgate/2", "4"]);
    } finally {
      await Promise.all([...sinks.values()].map((s) => s.close?.()));
      await receiver.close();
    }
  });

  it("refuses a webhook format it does not know", () => {
    expect(
      problems('receivers: [{ name: h, webhook: { url: "http://127.0.0.1:8080", format: slack } }]'),
    ).toEqual([expect.stringContaining("receivers[0].webhook.format")]);
  });

  it("builds nothing without receivers", () => {
    expect(buildSinks(parseConfig("{}", "petgate.yml")).size).toBe(0);
  });
});

describe("receivers in the config", () => {
  it("refuses a route to a receiver not in receivers, at its path", () => {
    const text = YAML.replace("    - receiver: am\n", "    - receiver: pager\n");
    expect(problems(text)).toEqual([
      expect.stringMatching(/^petgate\.yml:\d+: routes\.routes\[1\]\.receiver: no receiver named "pager"/),
    ]);
  });

  it("allows routes without receivers (receivers given elsewhere)", () => {
    expect(problems("routes: { receiver: anything }")).toEqual([]);
  });

  it("refuses duplicate names and a receiver of two kinds or none", () => {
    const text = `
receivers:
  - name: a
    alertmanager: { url: "http://127.0.0.1:9093" }
  - name: a
    alertmanager: { url: "http://127.0.0.1:9093" }
    webhook: { url: "http://127.0.0.1:8080" }
  - name: b
`;
    const found = problems(text);
    expect(found).toHaveLength(3);
    expect(found.join("\n")).toContain('receivers[1].name: duplicate receiver name "a"');
    expect(found.join("\n")).toContain("receivers[1]: give exactly one of email, webhook, alertmanager");
    expect(found.join("\n")).toContain("receivers[2]: give exactly one of");
  });

  it("wants username and password together", () => {
    const text = `
receivers:
  - name: m
    email: { host: smtp, port: 25, username: u, from: a@example.test, to: [b@example.test] }
`;
    expect(problems(text)).toEqual([expect.stringContaining("receivers[0].email.password: give both")]);
  });
});
