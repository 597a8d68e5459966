/**
 * Threat: sealed values name their key by id (`v1.<key id>.…`), so two configured keys with one
 * id would seal with the first and open with the other. An operator who rotates by putting a new
 * key in front and keeps the id ("primary") would get a server that cannot open anything it seals
 * from then on (new TOTP enrolments, IdP client secrets, signing keys), and
 * `tenant-mfa secrets reseal` would re-seal every existing secret into that unopenable state.
 * Duplicate ids are refused: by the configuration, naming the key, and by the sealer itself.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { loadConfig } from "../config/load-config.js";
import { problemsOf } from "../config/test-support/config-problems.js";
import { openApplication } from "../main.js";
import { createAesGcmSealer } from "./aes-gcm-sealer.js";
import { decodeKeys } from "./sealing-keys.js";

const newer = { id: "primary", key: randomBytes(32).toString("base64") };
const older = { id: "primary", key: randomBytes(32).toString("base64") };
const DUPLICATE =
  '"primary" is already the id of encryptionKeys.0: sealed values name their key by id, so each key needs its own';

describe("configured encryption keys sharing an id", () => {
  it("are refused by the configuration, naming the key and where it came from", () => {
    expect(
      problemsOf(() =>
        loadConfig({ env: { TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify([newer, older]) } }),
      ),
    ).toEqual([`encryptionKeys.1.id: ${DUPLICATE} (from TENANT_MFA_ENCRYPTION_KEYS)`]);
  });

  it("are reported with the configuration's other problems, each repeat named", () => {
    const other = { id: "other", key: randomBytes(32).toString("base64") };
    const problems = problemsOf(() =>
      loadConfig({
        env: {
          TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify([newer, other, older, { id: "primary" }]),
        },
        overrides: { port: "0" },
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        "port: expected a number between 1 and 65535 (from command line)",
        "encryptionKeys.3.key: expected a base64 key (from TENANT_MFA_ENCRYPTION_KEYS)",
        `encryptionKeys.2.id: ${DUPLICATE} (from TENANT_MFA_ENCRYPTION_KEYS)`,
        `encryptionKeys.3.id: ${DUPLICATE} (from TENANT_MFA_ENCRYPTION_KEYS)`,
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it("still accept distinct ids", () => {
    const other = { id: "older", key: older.key };
    expect(
      loadConfig({ env: { TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify([newer, other]) } })
        .encryptionKeys,
    ).toEqual([newer, other]);
  });

  it("are refused by the sealer, for callers that do not go through the configuration", () => {
    expect(() => createAesGcmSealer(decodeKeys([newer, older]))).toThrow(
      "Encryption key id primary is given to more than one key.",
    );
  });

  it("keep the server from starting", async () => {
    const db = `sqlite:${join(mkdtempSync(join(tmpdir(), "tenant-mfa-dupkeys-")), "store.db")}`;
    await expect(
      openApplication({
        db,
        exemptions: DEFAULT_SETTINGS.exemptions,
        encryptionKeys: [newer, older],
      }),
    ).rejects.toThrow(/more than one key/);
  });
});
