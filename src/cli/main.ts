#!/usr/bin/env node
import { createProgram } from "./program.js";

try {
  await createProgram({
    env: process.env,
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
