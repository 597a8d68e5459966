import { recordAudit, readStore, transact, type Context } from "../context.js";
import { readNamingDamagedRows } from "../damaged-records.js";
import { AppError } from "../errors.js";
import type { Repositories, SecretSealer } from "../ports.js";
import type { SigningKeyRecord } from "../records.js";
import { openSealed } from "../secrets/open-sealed.js";
import type {
  AssuranceTokenSigner,
  PublicJwk,
  PublicSigningKey,
  SigningAlgorithm,
} from "./token-signer.js";

/** How signing keys rotate. */
export interface SigningKeyPolicy {
  readonly alg: SigningAlgorithm;
  /** How long a key signs before its successor takes over. */
  readonly signingSeconds: number;
  /** How long before it signs a successor is published, so that verifiers have fetched it. */
  readonly prepublishSeconds: number;
  /** How long a key stays published after it stops signing: the longest token lifetime and more. */
  readonly retentionSeconds: number;
}

/**
 * ES256 keys that sign for 30 days; a successor is published two days before it takes over, and a
 * retired key stays published for a day, far beyond the minutes a token lives.
 */
export const DEFAULT_SIGNING_KEY_POLICY: SigningKeyPolicy = Object.freeze({
  alg: "ES256",
  signingSeconds: 30 * 86_400,
  prepublishSeconds: 2 * 86_400,
  retentionSeconds: 86_400,
});

/** A JWK Set as `/.well-known/jwks.json` serves it (RFC 7517 §5). */
export interface JsonWebKeySet {
  readonly keys: readonly (PublicJwk & { kid: string; alg: SigningAlgorithm; use: "sig" })[];
}

/**
 * A key of the JWK Set: the one `signing` now, a `successor` published ahead of the instant it
 * signs from, one `retired` and kept published until `removedAt` for the tokens it signed, or one
 * `superseded` by a later key made at the same time (two instances' first keys).
 */
export interface PublishedSigningKey {
  readonly kid: string;
  readonly status: "signing" | "successor" | "retired" | "superseded";
  readonly activatesAt: string;
  readonly retiresAt: string;
  readonly removedAt: string;
}

/** The key that signs now, opened. */
export interface ActiveSigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly privateJwk: string;
}

/** The context a private signing key is sealed in: it opens for this key only. */
export const privateKeyContext = (kid: string): string => `signing_key:${kid}:private_jwk`;

const plus = (iso: string, seconds: number): string =>
  new Date(Date.parse(iso) + seconds * 1000).toISOString();

/**
 * The assurance-token signing keys: the one that signs now, made or rotated on demand, and the
 * set that verifiers fetch. Instances agree without coordination: a key is chosen by time alone,
 * and the store accepts one key per activation instant, so two instances rotating at once end up
 * with one successor. Every new key and every early retirement is audited in the platform chain.
 */
export function signingKeys(
  context: Context,
  parts: { readonly signer: AssuranceTokenSigner; readonly secrets: SecretSealer },
  policy: SigningKeyPolicy = DEFAULT_SIGNING_KEY_POLICY,
) {
  const now = () => context.clock.now().toISOString();

  /** Makes a key that activates at `activatesAt`; false when another instance made it first. */
  async function create(
    r: Repositories,
    activatesAt: string,
    actor: string,
    reason: string,
    successorOf?: string,
  ) {
    const kid = context.random.id("key");
    const { publicJwk, privateJwk } = await parts.signer.generateKey(policy.alg);
    const retiresAt = plus(activatesAt, policy.signingSeconds);
    const record: SigningKeyRecord = {
      kid,
      alg: policy.alg,
      publicJwk,
      sealedPrivateJwk: parts.secrets.seal(privateJwk, privateKeyContext(kid)),
      createdAt: now(),
      activatesAt,
      ...(successorOf === undefined ? {} : { successorOf }),
      retiresAt,
      removedAt: plus(retiresAt, policy.retentionSeconds),
    };
    if (!(await r.signingKeys.insert(record))) return false;
    await recordAudit(context, r, {
      tenant: null,
      type: "signing_key.created",
      actor,
      payload: { kid, alg: record.alg, activatesAt, retiresAt, reason },
    });
    return true;
  }

  /** The key signing at `at`: the latest activated one that has not retired (ties: the last kid). */
  const signingAt = (keys: readonly SigningKeyRecord[], at: string) =>
    keys.filter((key) => key.activatesAt <= at && at < key.retiresAt).at(-1);

  /**
   * The record of the key that signs now, its private part unopened. Creates the first key when
   * there is none, and publishes the successor once the current key is within `prepublishSeconds`
   * of retiring.
   */
  async function signingNow(): Promise<SigningKeyRecord> {
    const at = now();
    let keys = await readStore(context, (r) => r.signingKeys.published(at));
    let current = signingAt(keys, at);
    const successorDue =
      current !== undefined &&
      plus(at, policy.prepublishSeconds) >= current.retiresAt &&
      !keys.some((key) => key.activatesAt === current?.retiresAt);
    if (current === undefined || successorDue) {
      const predecessor = current;
      keys = await transact(context, async (r) => {
        if (predecessor !== undefined) {
          await create(r, predecessor.retiresAt, "system", "scheduled rotation", predecessor.kid);
        } else if (signingAt(await r.signingKeys.published(at), at) === undefined) {
          // Looked again inside the transaction: on SQLite, where transactions queue, this makes
          // one first key; two PostgreSQL instances may make two, and the same one signs on both.
          await create(r, at, "system", "no signing key");
        }
        return r.signingKeys.published(at);
      });
      current = signingAt(keys, at);
    }
    if (current === undefined) throw new Error("no signing key after creating one");
    return current;
  }

  const useCases = {
    /** The key that signs now, opened; made or succeeded as {@link signingNow} says. */
    async active(): Promise<ActiveSigningKey> {
      const current = await signingNow();
      // Withdrawn (its private part discarded) as this instance read it, on a clock behind.
      if (current.sealedPrivateJwk === undefined) throw new AppError("secret.unavailable");
      return {
        kid: current.kid,
        alg: current.alg,
        privateJwk: openSealed(
          parts.secrets,
          current.sealedPrivateJwk,
          privateKeyContext(current.kid),
        ),
      };
    },

    /**
     * Rotates now: a new key signs from this instant and the current one retires. A retired key
     * stays published for `retentionSeconds` so that tokens it signed still verify, unless keys
     * are `compromised`: then every published key leaves the JWKS at once (they share one store),
     * and every token they signed stops verifying. `confirmed`, the kids an operator was shown and
     * confirmed, bounds what is withdrawn: a key published since (another instance's rotation or
     * successor) was never shown, and the rotation is refused, nothing changed
     * (`signing_key.published_changed`).
     */
    async rotate(
      actor: string,
      options: { compromised?: boolean; confirmed?: readonly string[] } = {},
    ): Promise<string> {
      return transact(context, async (r) => {
        const at = now();
        const keys = await r.signingKeys.published(at);
        const { confirmed } = options;
        const unseen = keys.filter(
          (key) => confirmed !== undefined && !confirmed.includes(key.kid),
        );
        if (options.compromised === true && unseen.length > 0) {
          throw new AppError(
            "signing_key.published_changed",
            `A signing key was published since the keys were listed (${unseen.map((key) => key.kid).join(", ")}): nothing was withdrawn. Run the command again to see the keys published now.`,
          );
        }
        for (const key of keys) {
          if (key.retiresAt <= at && options.compromised !== true) continue;
          const removedAt = options.compromised === true ? at : plus(at, policy.retentionSeconds);
          // Never later than it was: a retired key must not sign again. Successors published
          // ahead never sign: the new key takes their place.
          const retiresAt =
            [key.retiresAt, key.activatesAt > at ? key.activatesAt : at].sort()[0] ?? at;
          // The times the key stands at: earlier than these when another instance withdrew it
          // since it was read (the store moves no end later).
          const retired = await r.signingKeys.retire(key.kid, retiresAt, removedAt);
          if (retired === undefined) throw new Error(`signing key ${key.kid} is not stored`);
          await recordAudit(context, r, {
            tenant: null,
            type: "signing_key.retired",
            actor,
            payload: {
              kid: key.kid,
              retiresAt: retired.retiresAt,
              removedAt: retired.removedAt,
              compromised: options.compromised === true,
            },
          });
        }
        await create(r, at, actor, options.compromised === true ? "compromised" : "rotation");
        const next = signingAt(await r.signingKeys.published(at), at);
        if (next === undefined) throw new Error("no signing key after rotating");
        return next.kid;
      });
    },

    /**
     * The keys published now (the JWK Set's), oldest first, with what each does: what a
     * compromised rotation would withdraw. Only reads: unlike {@link jwks}, it makes no first key
     * and publishes no successor.
     */
    async published(): Promise<readonly PublishedSigningKey[]> {
      const at = now();
      const keys = await readStore(context, (r) => r.signingKeys.published(at));
      const signing = signingAt(keys, at);
      return keys.map((key) => ({
        kid: key.kid,
        status:
          key === signing
            ? "signing"
            : key.activatesAt > at
              ? "successor"
              : key.retiresAt <= at
                ? "retired"
                : "superseded",
        activatesAt: key.activatesAt,
        retiresAt: key.retiresAt,
        removedAt: key.removedAt,
      }));
    },

    /**
     * Every key ever made, removed ones too: an audit checkpoint an auditor kept for years still
     * names the key that signed it.
     */
    everyPublicKey(): Promise<readonly PublicSigningKey[]> {
      return everyPublicSigningKey(context);
    },

    /**
     * The public keys verifiers may meet now: the one signing, retired ones still published, and
     * a published successor. Makes the first key, or the successor when due, as signing would.
     */
    async jwks(): Promise<JsonWebKeySet> {
      // A verifier may fetch before the first token is signed, or as a successor is due. The
      // private part stays sealed: one that does not open stops signing, not the verification
      // of what the published keys signed.
      await signingNow();
      const keys = await readStore(context, (r) => r.signingKeys.published(now()));
      return {
        keys: keys.map((key) => ({ ...key.publicJwk, kid: key.kid, alg: key.alg, use: "sig" })),
      };
    },
  };
  return useCases;
}

/** The signing-key use cases, as {@link signingKeys} builds them. */
export type SigningKeys = ReturnType<typeof signingKeys>;

/**
 * Every signing key's public part the store keeps, removed ones included: what opens a token or
 * checkpoint signed long ago. Needs no sealing key. A row whose stored text is not JSON answers
 * `store.record_damaged`, naming every such row: a set read in part could call a genuine
 * signature forged.
 */
export async function everyPublicSigningKey(
  context: Context,
): Promise<readonly PublicSigningKey[]> {
  const keys = await readStore(context, (r) => readEverySigningKey(r));
  return keys.map(({ kid, alg, publicJwk }) => ({ kid, alg, publicJwk }));
}

/**
 * Every stored signing key, removed ones too, read whole: a row whose stored text is not JSON
 * (altered outside the service) answers `store.record_damaged`, naming every such row, as
 * `audit verify` does; `refused` says what is not done until each is restored.
 */
export const readEverySigningKey = (
  r: Repositories,
  refused?: string,
): Promise<readonly SigningKeyRecord[]> =>
  readNamingDamagedRows(
    () => r.signingKeys.list(),
    () => r.signingKeys.listUnreadable(),
    refused,
  );
