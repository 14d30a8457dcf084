import { expect, it } from "vitest";
import { rakp2Hint } from "../../src/ipmi/client/session.js";
import { rmcpPlusStatusName } from "../../src/ipmi/rakp.js";

const ADMINISTRATOR = 4;
const said = (status: number) => `${rmcpPlusStatusName(status)}${rakp2Hint(status, ADMINISTRATOR)}`;

it("explains a refused RAKP 1 by IPMI 2.0 Table 13-15: 09h an invalid role, 0Ah one above the user's limit", () => {
  expect(said(0x09)).toBe(
    "invalid role; the BMC calls the requested role ADMINISTRATOR invalid: ask for another role",
  );
  expect(said(0x0a)).toBe(
    "unauthorized role or privilege level requested; the requested role ADMINISTRATOR is above this user's privilege limit: ask for a lower one",
  );
  expect(said(0x0d)).toBe("unauthorized name; check the user name");
  expect(said(0x0f)).toBe("invalid integrity check value");
});
