export interface MimePart {
  contentType: string;
  body: string;
}

/**
 * Just enough MIME to read back nodemailer's output (no mailparser): headers (lower-case names,
 * folded lines joined, RFC 2047 words decoded) and the decoded leaf parts.
 */
export function parseMessage(raw: string): { headers: Map<string, string>; parts: MimePart[] } {
  const [head, body] = splitHeadBody(raw);
  const headers = parseHeaders(head);
  return { headers, parts: leafParts(headers, body) };
}

function splitHeadBody(raw: string): [string, string] {
  const i = raw.indexOf("\r\n\r\n");
  return i < 0 ? [raw, ""] : [raw.slice(0, i), raw.slice(i + 4)];
}

function parseHeaders(head: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0)
      headers.set(line.slice(0, colon).trim().toLowerCase(), decodeWords(line.slice(colon + 1).trim()));
  }
  return headers;
}

function leafParts(headers: Map<string, string>, body: string): MimePart[] {
  const contentType = headers.get("content-type") ?? "text/plain";
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (contentType.toLowerCase().startsWith("multipart/") && boundary) {
    return body
      .split(`--${boundary}`)
      .slice(1)
      .filter((chunk) => !chunk.startsWith("--"))
      .flatMap((chunk) => {
        const [h, b] = splitHeadBody(chunk.replace(/^\r\n/, ""));
        return leafParts(parseHeaders(h), b.replace(/\r\n$/, ""));
      });
  }
  const encoding = (headers.get("content-transfer-encoding") ?? "7bit").toLowerCase();
  let decoded = body;
  if (encoding === "base64") decoded = Buffer.from(body, "base64").toString("utf8");
  if (encoding === "quoted-printable") decoded = quotedPrintable(body.replace(/=\r\n/g, ""));
  return [
    {
      contentType: contentType.split(";")[0]?.trim().toLowerCase() ?? "",
      body: decoded.replace(/\r\n/g, "\n"),
    },
  ];
}

function quotedPrintable(text: string): string {
  return Buffer.from(
    text.replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
    "latin1",
  ).toString("utf8");
}

/** RFC 2047 encoded words (=?UTF-8?Q?…?= and =?UTF-8?B?…?=), as nodemailer writes non-ASCII headers. */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?[^?]+\?([BbQq])\?([^?]*)\?=/g, (_, kind: string, text: string) =>
      kind.toUpperCase() === "B"
        ? Buffer.from(text, "base64").toString("utf8")
        : quotedPrintable(text.replace(/_/g, " ")),
    );
}
