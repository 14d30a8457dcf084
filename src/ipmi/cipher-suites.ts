import { createHmac } from "node:crypto";

/** RMCP+ algorithm numbers (IPMI 2.0 §13.28, Tables 13-17, 13-18, 13-19). */
export const AuthAlgorithm = { None: 0, HmacSha1: 1, HmacMd5: 2, HmacSha256: 3 } as const;
export const IntegrityAlgorithm = {
  None: 0,
  HmacSha1_96: 1,
  HmacMd5_128: 2,
  Md5_128: 3,
  HmacSha256_128: 4,
} as const;
export const ConfidentialityAlgorithm = { None: 0, AesCbc128: 1, Xrc4_128: 2, Xrc4_40: 3 } as const;

export interface CipherSuite {
  id: number;
  authentication: number;
  integrity: number;
  confidentiality: number;
}

/** IPMI 2.0 §22.15.2, Table 22-20: the standard cipher suites. */
const SUITES: readonly CipherSuite[] = [
  [0, 0, 0, 0],
  [1, 1, 0, 0],
  [2, 1, 1, 0],
  [3, 1, 1, 1],
  [6, 2, 0, 0],
  [7, 2, 2, 0],
  [8, 2, 2, 1],
  [11, 2, 3, 0],
  [12, 2, 3, 1],
  [15, 3, 0, 0],
  [16, 3, 4, 0],
  [17, 3, 4, 1],
].map(([id, authentication, integrity, confidentiality]) => ({
  id: id as number,
  authentication: authentication as number,
  integrity: integrity as number,
  confidentiality: confidentiality as number,
}));

/** What petgate implements: HMAC-SHA1/SHA256 authentication and integrity, AES-CBC-128 (suite 0 only when allowed). */
export const IMPLEMENTED_SUITES = [0, 1, 2, 3, 15, 16, 17] as const;

export function cipherSuite(id: number): CipherSuite | undefined {
  return SUITES.find((s) => s.id === id);
}

/** The HMAC of an authentication algorithm (RAKP auth codes, SIK, K1/K2). */
export function authHash(authentication: number): "sha1" | "sha256" {
  if (authentication === AuthAlgorithm.HmacSha1) return "sha1";
  if (authentication === AuthAlgorithm.HmacSha256) return "sha256";
  throw new RangeError(`authentication algorithm ${authentication} is not implemented`);
}

export function hmac(hash: "sha1" | "sha256", key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac(hash, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** IPMI 2.0 §13.28.4: the integrity AuthCode over a packet, keyed with K1 and truncated. */
export function integrityAuthCode(integrity: number, k1: Uint8Array, covered: Uint8Array): Buffer {
  if (integrity === IntegrityAlgorithm.HmacSha1_96) return hmac("sha1", k1, covered).subarray(0, 12);
  if (integrity === IntegrityAlgorithm.HmacSha256_128) return hmac("sha256", k1, covered).subarray(0, 16);
  throw new RangeError(`integrity algorithm ${integrity} is not implemented`);
}

export function integrityAuthCodeLength(integrity: number): number {
  if (integrity === IntegrityAlgorithm.None) return 0;
  if (integrity === IntegrityAlgorithm.HmacSha1_96) return 12;
  return 16;
}
