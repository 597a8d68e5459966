import { SERVER_VARIABLES } from "./load-config.js";

const PREFIX = "TENANT_MFA_";

/**
 * Names under the server's prefix that are not the server's, and that it leaves alone: the API
 * key the platform's backend gives the SDK (`docs/sdk.md`) and the test suite's settings.
 */
export const OTHER_VARIABLES: readonly string[] = [
  "TENANT_MFA_KEY",
  "TENANT_MFA_TEST_PG",
  "TENANT_MFA_TEST_CHROMIUM",
];

/** A `TENANT_MFA_*` variable that nothing reads, and the setting it probably meant. */
export interface UnknownVariable {
  readonly name: string;
  readonly suggestion?: string;
}

/**
 * The variables of `env` that carry the server's prefix (in any case) and that neither the server
 * nor anything else of tenant-mfa reads, in name order, each with the server's variable it is
 * closest to, when one is close. Only names are looked at: a value may be a secret.
 */
export function findUnknownVariables(
  env: Readonly<Record<string, string | undefined>>,
): readonly UnknownVariable[] {
  const known = new Set([...SERVER_VARIABLES, ...OTHER_VARIABLES]);
  return Object.keys(env)
    .filter((name) => name.toUpperCase().startsWith(PREFIX) && !known.has(name))
    .sort()
    .map((name) => {
      const suggestion = closestServerVariable(name);
      return suggestion === undefined ? { name } : { name, suggestion };
    });
}

/** What the operator is told of `variable`: its name, never its value. */
export function unknownVariableWarning({ name, suggestion }: UnknownVariable): string {
  const meant = suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`;
  return `${name} is not a tenant-mfa setting and is ignored${meant}`;
}

/**
 * The server's variable that `name` is probably a slip for: the same name in another case, one
 * within a third of its length in edits (`ENCRYPTION_KEY`, `LOGLEVEL`, `TRUSTED_PROXIES`), or one
 * that either begins with (`DB_URL`, `HOSTNAME`); the fewest edits away when several are.
 */
function closestServerVariable(name: string): string | undefined {
  const typed = name.toUpperCase().slice(PREFIX.length);
  let best: { name: string; distance: number } | undefined;
  for (const candidate of SERVER_VARIABLES) {
    const setting = candidate.slice(PREFIX.length);
    const distance = editDistance(typed, setting);
    const [shorter, longer] = typed.length < setting.length ? [typed, setting] : [setting, typed];
    const close =
      distance <= Math.max(2, Math.floor(longer.length / 3)) ||
      (shorter.length >= 2 && longer.startsWith(shorter));
    if (close && (best === undefined || distance < best.distance)) {
      best = { name: candidate, distance };
    }
  }
  return best?.name;
}

/** The Levenshtein distance: the fewest insertions, deletions and substitutions from a to b. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
