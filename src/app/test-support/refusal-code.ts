import { AppError } from "../errors.js";

/**
 * The code of the {@link AppError} that `promise` rejects with, or `fulfilled` when it does not
 * reject; anything else it throws is thrown on, as a test's failure.
 */
export async function refusalCode(
  promise: Promise<unknown>,
  fulfilled = "no error",
): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return fulfilled;
}
