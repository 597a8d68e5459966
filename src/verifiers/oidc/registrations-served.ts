import type { IdpRegistrationVersion } from "../../app/federation/protocols.js";

/**
 * The registration versions that what one issuer's cache holds was fetched for: a version it
 * has not served was made after the fetch, perhaps on another instance, perhaps because of what
 * the IdP published until then, so the cache is fetched again for it. Kept across fetches (a
 * fetch serves every version met before it started) and per issuer, so it grows only with the
 * registrations of that issuer.
 */
export class RegistrationsServed {
  readonly #versions = new Map<string, number>();

  /** Whether a fetch made for the versions served so far may serve `registration`. */
  serves(registration: IdpRegistrationVersion | undefined): boolean {
    if (registration === undefined) return true;
    const served = this.#versions.get(registration.id);
    return served !== undefined && served >= registration.version;
  }

  /** A fetch started after `registration` was met: what it got serves that version. */
  add(registration: IdpRegistrationVersion | undefined): void {
    if (registration === undefined || this.serves(registration)) return;
    this.#versions.set(registration.id, registration.version);
  }
}

/**
 * Whether a fetch started for `started` may serve `asked`: only one started for the same
 * registration, at its version or later, was started after `asked` was met.
 */
export function fetchServes(
  started: IdpRegistrationVersion | undefined,
  asked: IdpRegistrationVersion | undefined,
): boolean {
  return (
    asked === undefined ||
    (started !== undefined && started.id === asked.id && started.version >= asked.version)
  );
}
