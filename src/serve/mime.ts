import { type HeaderValue, simpleParser } from "mailparser";

export interface MimePart {
  contentType: string;
  body: string;
}

/** A mail as the demo's catcher and the tests read it: headers by lower-case name, its text and HTML. */
export interface ParsedMessage {
  headers: Map<string, string>;
  parts: MimePart[];
}

/** A parsed header as text: addresses as written, structured values (Content-Type) by their value. */
function headerText(value: HeaderValue | undefined): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => headerText(v)).join(", ");
  if ("text" in value && typeof value.text === "string") return value.text;
  if ("value" in value && typeof value.value === "string") return value.value;
  return "";
}

/** Parses one RFC 5322 message with mailparser (nodemailer's sibling): decoded headers and bodies. */
export async function parseMessage(raw: string): Promise<ParsedMessage> {
  const mail = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true });
  const headers = new Map(mail.headerLines.map(({ key }) => [key, headerText(mail.headers.get(key))]));
  const parts: MimePart[] = [];
  if (mail.text !== undefined) parts.push({ contentType: "text/plain", body: mail.text });
  if (typeof mail.html === "string") parts.push({ contentType: "text/html", body: mail.html });
  return { headers, parts };
}
