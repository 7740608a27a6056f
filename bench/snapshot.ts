import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../src/cli/local-cluster.ts";

/**
 * `wrangler dev` watches the Worker's sources and rebuilds + restarts workerd whenever one
 * changes, which drops every Durable Object (hubs, their watch streams, the group-commit
 * queue) and stalls requests for seconds. In a working tree that others edit while the bench
 * runs, that happened mid-phase. So the bench runs the stack from a private copy of the
 * sources: "worktree" (default: the files as they are now, uncommitted edits included) or
 * "HEAD" (the last commit, via git archive). node_modules is linked, not copied.
 */

export type SourceMode = "worktree" | "HEAD";

const FILES = ["src", "migrations", "wrangler.toml", "package.json", "tsconfig.json"];

export function snapshotProject(mode: SourceMode): { root: string; describe: string } {
  const root = mkdtempSync(join(tmpdir(), "edgeplane-bench-src-"));
  if (mode === "HEAD") {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: PROJECT_ROOT, encoding: "utf8" }).trim();
    const tar = execFileSync("git", ["archive", "--format=tar", "HEAD", ...FILES], { cwd: PROJECT_ROOT, maxBuffer: 256 * 1024 * 1024 });
    execFileSync("tar", ["-x", "-C", root], { input: tar });
    symlinkSync(join(PROJECT_ROOT, "node_modules"), join(root, "node_modules"), "dir");
    return { root, describe: `commit ${commit} (git archive HEAD)` };
  }
  mkdirSync(root, { recursive: true });
  for (const f of FILES) cpSync(join(PROJECT_ROOT, f), join(root, f), { recursive: true });
  symlinkSync(join(PROJECT_ROOT, "node_modules"), join(root, "node_modules"), "dir");
  let describe = "working tree copy";
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: PROJECT_ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", ...FILES], { cwd: PROJECT_ROOT, encoding: "utf8" }).trim();
    describe = `working tree copy (HEAD ${commit}${dirty ? ", with uncommitted changes" : ""})`;
  } catch {
    /* not a git checkout */
  }
  return { root, describe };
}

/** startLocalCluster from the snapshot, so wrangler's PROJECT_ROOT (and its file watcher) is the copy. */
export async function loadLocalCluster(root: string): Promise<typeof import("../src/cli/local-cluster.ts")> {
  return (await import(join(root, "src", "cli", "local-cluster.ts"))) as typeof import("../src/cli/local-cluster.ts");
}
