import { z } from "zod";
import { parseCidr, parseHostPort } from "../net/address.js";

/** A secret is read from an environment variable or a file, never written in the config itself. */
const secretRef = (what: string) =>
  z
    .object({
      env: z.string().min(1).optional().describe(`environment variable holding the ${what}`),
      file: z.string().min(1).optional().describe(`file holding the ${what} (trailing newline ignored)`),
    })
    .strict()
    .refine((s) => (s.env === undefined) !== (s.file === undefined), {
      message: "give exactly one of env or file",
    });

const usmUser = z
  .object({
    name: z.string().min(1).max(32).describe("SNMPv3 USM user name"),
    level: z
      .enum(["noAuthNoPriv", "authNoPriv", "authPriv"])
      .default("authPriv")
      .describe("USM security level"),
    authProtocol: z.enum(["sha", "sha256", "sha512"]).optional().describe("HMAC for authNoPriv/authPriv"),
    authKey: secretRef("authentication passphrase")
      .optional()
      .describe("authentication passphrase: env or file"),
    privProtocol: z
      .enum(["aes", "aes256b", "aes256r"])
      .optional()
      .describe("cipher for authPriv (aes = AES-128-CFB)"),
    privKey: secretRef("privacy passphrase").optional().describe("privacy passphrase: env or file"),
  })
  .strict()
  .superRefine((u, ctx) => {
    const needsAuth = u.level !== "noAuthNoPriv";
    const needsPriv = u.level === "authPriv";
    if (needsAuth && !(u.authProtocol && u.authKey)) {
      ctx.addIssue({
        code: "custom",
        message: `${u.level} needs authProtocol and authKey`,
        path: ["authKey"],
      });
    }
    if (needsPriv && !(u.privProtocol && u.privKey)) {
      ctx.addIssue({ code: "custom", message: "authPriv needs privProtocol and privKey", path: ["privKey"] });
    }
  });

export const listenerSchema = z
  .object({
    bind: z
      .string()
      .refine((s) => isHostPort(s), "expected HOST:PORT, e.g. 0.0.0.0:162 or [::]:162")
      .optional()
      .describe("UDP HOST:PORT; default 0.0.0.0:162 as root, else 0.0.0.0:1162"),
    communities: z.array(z.string().min(1)).default(["public"]).describe("SNMPv1/v2c communities accepted"),
    allowSources: z
      .array(z.string().refine((s) => parseCidr(s) !== undefined, "not an IP address or CIDR block"))
      .default([])
      .describe("source addresses or CIDR blocks accepted; empty accepts any"),
    receiveBufferBytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024)
      .describe(
        "UDP receive buffer asked for; Linux caps it at net.core.rmem_max (a 100k burst needs ~64 MiB)",
      ),
    users: z.array(usmUser).default([]).describe("SNMPv3 USM users (traps and informs)"),
  })
  .strict();

function isHostPort(s: string): boolean {
  try {
    parseHostPort(s, { host: "0.0.0.0", port: 162 });
    return true;
  } catch {
    return false;
  }
}

export const configSchema = z
  .object({
    listener: listenerSchema
      .default(listenerSchema.parse({}))
      .describe("SNMP trap listener (petgate listen)"),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ListenerConfig = z.infer<typeof listenerSchema>;
export type SecretRef = z.infer<ReturnType<typeof secretRef>>;
