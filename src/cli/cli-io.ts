import type { RunningServer } from "../main.js";

/** Where the commands read and write; the real process by default, captured in tests. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * What the operator types, when a command asks (`keys rotate --compromised`); without it, or
   * when it is not a terminal (a pipe, a script), nobody is there to ask.
   */
  readonly stdin?: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  setExitCode(code: number): void;
  /** The time now (what names a backup written into a folder); the system clock by default. */
  readonly now?: () => Date;
  /** Called with the running server by `serve` (tests close it). */
  onServing?(running: RunningServer): void;
}
