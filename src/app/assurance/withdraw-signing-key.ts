import { recordAudit, readStore, transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import type { Repositories, SecretSealer } from "../ports.js";
import type { SigningKeyRecord } from "../records.js";
import { privateKeyContext, readEverySigningKey } from "./signing-keys.js";

/** A signing key whose private part no key at hand opens. */
export interface UnopenableSigningKey {
  readonly kid: string;
  /** The encryption key id its sealed value names (empty for a value of another shape). */
  readonly sealedWith: string;
  readonly activatesAt: string;
  readonly retiresAt: string;
  readonly removedAt: string;
  /** Whether it is in the JWK Set now. */
  readonly published: boolean;
}

/** The key id a sealed value names: `v1.<key id>.<iv>.<body>`. */
const sealedWith = (sealed: string): string => sealed.split(".")[1] ?? "";

/** Whether `secrets` opens `key`'s private part. */
function opens(secrets: SecretSealer, key: SigningKeyRecord & { sealedPrivateJwk: string }) {
  try {
    secrets.open(key.sealedPrivateJwk, privateKeyContext(key.kid));
    return true;
  } catch {
    return false;
  }
}

/** `key`, as {@link UnopenableSigningKey} names it at `at`. */
function describe(key: SigningKeyRecord, at: string): UnopenableSigningKey {
  return {
    kid: key.kid,
    sealedWith: sealedWith(key.sealedPrivateJwk ?? ""),
    activatesAt: key.activatesAt,
    retiresAt: key.retiresAt,
    removedAt: key.removedAt,
    published: at < key.removedAt,
  };
}

/**
 * Every stored signing key, as {@link SigningKeyStore.list} reads them; a row whose stored text
 * is not JSON (altered outside the service) answers `store.record_damaged`, naming each such row
 * as `audit verify` does: no key is listed or withdrawn from a set that cannot be read whole,
 * and "cannot reach the store" would send the operator to look in the wrong place.
 */
const readSigningKeys = (r: Repositories): Promise<readonly SigningKeyRecord[]> =>
  readEverySigningKey(r, "No signing key is listed or withdrawn");

/**
 * Every stored signing key, removed ones too, whose private part `secrets` does not open (its
 * encryption key is not given, or its stored value was altered), withdrawn ones aside: what
 * keeps an encryption key from being dropped, since every start refuses a store holding a value
 * sealed with a key it is not given.
 */
export async function listUnopenableSigningKeys(
  context: Context,
  secrets: SecretSealer,
): Promise<readonly UnopenableSigningKey[]> {
  const at = context.clock.now().toISOString();
  const keys = await readStore(context, readSigningKeys);
  return keys.flatMap((key) => {
    const { sealedPrivateJwk } = key;
    if (sealedPrivateJwk === undefined || opens(secrets, { ...key, sealedPrivateJwk })) return [];
    return [describe(key, at)];
  });
}

/**
 * Withdraws signing key `kid`, whose private part `secrets` does not open: that part is discarded
 * (it could sign nothing here, and a key that may have been lost must not sign again should it
 * turn up), the key stops signing and leaves the JWK Set now, and a key signs in its place at
 * the next signing; its public part stays, for the checkpoints and tokens it signed. So the
 * encryption key it was sealed with, if no other value names it, can be dropped. Audited as
 * `signing_key.withdrawn` in the platform chain, in the same transaction. A key that opens is
 * refused (`signing_key.opens`): nothing is lost that a key at hand could still use. An unknown
 * or withdrawn kid: `not_found`.
 */
export async function withdrawUnopenableSigningKey(
  context: Context,
  secrets: SecretSealer,
  kid: string,
  actor: string,
): Promise<UnopenableSigningKey> {
  return transact(context, async (r) => {
    const at = context.clock.now().toISOString();
    const key = (await readSigningKeys(r)).find((candidate) => candidate.kid === kid);
    const { sealedPrivateJwk } = key ?? {};
    if (key === undefined || sealedPrivateJwk === undefined) {
      throw new AppError("not_found", `There is no signing key ${kid} to withdraw.`);
    }
    if (opens(secrets, { ...key, sealedPrivateJwk })) {
      throw new AppError(
        "signing_key.opens",
        `Signing key ${kid} opens with the configured keys: it is not withdrawn. Rotate (\`keys rotate --compromised\`) and re-seal (\`secrets reseal\`) instead.`,
      );
    }
    if (!(await r.signingKeys.withdraw(kid, sealedPrivateJwk, at))) {
      throw new AppError("not_found", `Signing key ${kid} changed meanwhile: run this again.`);
    }
    const withdrawn = describe(
      {
        ...key,
        retiresAt: key.retiresAt < at ? key.retiresAt : at,
        removedAt: key.removedAt < at ? key.removedAt : at,
      },
      at,
    );
    await recordAudit(context, r, {
      tenant: null,
      type: "signing_key.withdrawn",
      actor,
      payload: {
        kid,
        sealedWith: withdrawn.sealedWith,
        reason: "unopenable",
        retiresAt: withdrawn.retiresAt,
        removedAt: withdrawn.removedAt,
      },
    });
    return withdrawn;
  });
}
