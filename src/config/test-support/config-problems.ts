import { expect } from "vitest";
import { ConfigError } from "../load-config.js";

/** The problems of the `ConfigError` that `run` throws; fails the test when it throws none. */
export function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}
