// Runs every test suite (typecheck, workers tests, end-to-end tests) and ends with
// one line "N passed, N failed" counted from the real runs. Exit code 1 if anything failed.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const tmp = mkdtempSync(join(tmpdir(), "edgeplane-test-"));
const only = process.argv.slice(2);

function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, ...env } });
    child.on("exit", (code) => resolve(code ?? 1));
    child.on("error", () => resolve(1));
  });
}

const suites = {
  async typecheck() {
    const code = await run("tsc", ["--noEmit"]);
    return { passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1 };
  },
  /** The same code must deploy to Cloudflare: a dry-run bundle within the Workers size limit. */
  async deploy() {
    const outdir = join(tmp, "dist");
    const code = await run("wrangler", ["deploy", "--dry-run", "--outdir", outdir], { WRANGLER_SEND_METRICS: "false" });
    const bundle = join(outdir, "worker.js");
    if (code !== 0 || !existsSync(bundle)) return { passed: 0, failed: 1 };
    const { gzipSync } = await import("node:zlib");
    const gz = gzipSync(readFileSync(bundle)).length;
    const limit = 3 * 1024 * 1024; // Workers Free plan, compressed
    console.log(`deploy bundle: ${readFileSync(bundle).length} bytes, ${gz} gzipped (limit ${limit})`);
    return gz <= limit ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 };
  },
  async workers() {
    const out = join(tmp, "vitest.json");
    const code = await run("vitest", ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${out}`]);
    if (!existsSync(out)) return { passed: 0, failed: 1 };
    const r = JSON.parse(readFileSync(out, "utf8"));
    const failed = r.numFailedTests + (code !== 0 && r.numFailedTests === 0 ? 1 : 0);
    return { passed: r.numPassedTests, failed };
  },
  async e2e() {
    const out = join(tmp, "e2e.tap");
    const code = await run("node", [
      "--import", "tsx",
      "--test", "--test-concurrency=1",
      "--test-reporter=spec", "--test-reporter-destination=stdout",
      "--test-reporter=tap", `--test-reporter-destination=${out}`,
      "test/e2e/**/*.test.ts",
    ]);
    const tap = existsSync(out) ? readFileSync(out, "utf8") : "";
    const num = (k) => Number((new RegExp(`^# ${k} (\\d+)`, "m").exec(tap) ?? [])[1] ?? 0);
    const failed = num("fail") + num("cancelled");
    return { passed: num("pass"), failed: failed + (code !== 0 && failed === 0 ? 1 : 0) };
  },
};

let passed = 0;
let failed = 0;
for (const [name, suite] of Object.entries(suites)) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n=== ${name} ===`);
  const r = await suite();
  console.log(`=== ${name}: ${r.passed} passed, ${r.failed} failed ===`);
  passed += r.passed;
  failed += r.failed;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
