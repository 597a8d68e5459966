#!/usr/bin/env node
import { createProgram } from "./program.js";

// A reader that stops early (`tenant-mfa demo | head`) closes the pipe: the rest of the output has
// nobody to go to, so the command ends quietly, as Unix tools do, instead of with a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(process.exitCode ?? 0);
});

try {
  await createProgram({
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    setExitCode: (code) => {
      process.exitCode = code;
    },
  }).parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`tenant-mfa: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
