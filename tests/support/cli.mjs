// The real `convscope` binary for tests that compare the page with the CLI: built by
// cargo if needed (a no-op after `cargo test`), run with its exit code and output.
import { execFileSync, spawnSync } from "node:child_process";
import { ROOT } from "./paths.mjs";

let binary;

/** The path of the convscope binary (debug build), built on first use. */
export function convscopeBinary() {
  if (binary) return binary;
  const out = execFileSync("cargo", ["build", "-q", "-p", "convscope", "--bin", "convscope", "--message-format=json"], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
  for (const line of out.split("\n")) {
    if (!line.startsWith("{")) continue;
    const message = JSON.parse(line);
    if (message.reason === "compiler-artifact" && message.target?.name === "convscope" && message.executable) binary = message.executable;
  }
  if (!binary) throw new Error("cargo built no convscope binary");
  return binary;
}

/** Runs `convscope args...` in the repository root: {status, stdout, stderr}. */
export function convscope(args) {
  const run = spawnSync(convscopeBinary(), args, { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
