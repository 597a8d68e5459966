// Threat, of availability: a tenant's WebAuthn settings row altered outside the service (its
// text no longer JSON). Replacing the settings without `If-Match` never read them, and still
// must not (a write that sends no precondition behaves as before settings had an ETag); one
// sent with `If-Match` must compare against them, and is refused as the damaged row, never
// written over what it could not check.
import { afterEach, beforeEach, expect, it } from "vitest";
import { refusalCode } from "./test-support/refusal-code.js";
import { openSqliteWorld, type TamperedWorld } from "./test-support/tampered-world.js";

let w: TamperedWorld;
const settings = { rpId: "mfa.test", origins: ["https://mfa.test"] };

beforeEach(async () => {
  w = await openSqliteWorld();
  await w.h.app.tenants.create(w.h.admin, { id: "acme", name: "Acme" });
  await w.h.app.webauthn.putSettings(w.h.admin, "acme", settings);
  await w.tamper(["UPDATE webauthn_settings SET document = 'not json' WHERE tenant = 'acme'"]);
});
afterEach(() => w.close());

it("replaces damaged WebAuthn settings sent without If-Match, as before", async () => {
  const replaced = await w.h.app.webauthn.putSettings(w.h.admin, "acme", settings);
  expect(replaced).toMatchObject({ source: "tenant", rpId: "mfa.test" });
  expect(await w.h.app.webauthn.settings(w.h.admin, "acme")).toStrictEqual(replaced);
});

it("refuses If-Match over damaged WebAuthn settings as the damaged row, writing nothing", async () => {
  const refused = w.h.app.webauthn.putSettings(w.h.admin, "acme", settings, { ifMatch: "*" });
  expect(await refusalCode(refused)).toBe("store.record_damaged");
  expect(await refusalCode(w.h.app.webauthn.settings(w.h.admin, "acme"))).toBe(
    "store.record_damaged",
  );
});
