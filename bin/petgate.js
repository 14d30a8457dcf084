#!/usr/bin/env node
// The `petgate` command: runs the compiled CLI (`npm run build`, or any `npm start` / `npm test`).
import { existsSync } from "node:fs";

const main = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write("petgate: not built yet; run `npm run bootstrap` (or `npm run build`) first\n");
  process.exit(1);
}
await import(main.href);
