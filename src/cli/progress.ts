/** Where progress is drawn: a terminal gets a live line, anything else nothing until the end. */
export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** A live progress line for a run whose total is unknown: a bouncing bar and a count. */
export interface Progress {
  update(done: number): void;
  done(): void;
}

const WIDTH = 20;
const BLOCK = 5;

/**
 * Draws `label [   =====      ] 12,345` on a terminal, at most ten times a second; draws nothing
 * when the sink is not a terminal, so piped output and logs stay clean.
 */
export function createProgress(
  sink: ProgressSink,
  label: string,
  now: () => number = Date.now,
): Progress {
  let last = 0;
  let frame = 0;
  let drawn = false;
  return {
    update(done) {
      if (sink.isTTY !== true) return;
      const time = now();
      if (time - last < 100) return;
      last = time;
      const span = WIDTH - BLOCK;
      const position = Math.abs((frame++ % (2 * span)) - span);
      const bar = " ".repeat(position) + "=".repeat(BLOCK) + " ".repeat(span - position);
      sink.write(`\r${label} [${bar}] ${done.toLocaleString("en")} events`);
      drawn = true;
    },
    done() {
      if (drawn) sink.write("\r\x1b[2K");
      drawn = false;
    },
  };
}
