import { everyPublicSigningKey, type SigningKeys } from "../assurance/signing-keys.js";
import type {
  AssuranceTokenSigner,
  PublicJwk,
  PublicSigningKey,
} from "../assurance/token-signer.js";
import { readStore, type Context } from "../context.js";
import { AppError } from "../errors.js";
import { chainOf } from "./audit-chain.js";

/**
 * Signed audit checkpoints: a statement, signed with the service's signing key, that a chain's
 * event number `seq` had the hash `hash`. The chain alone cannot stop someone who writes to the
 * database from rewriting history and recomputing every hash after the change (the head row
 * moves with it); an auditor who keeps a checkpoint outside the operator's reach can. Verifying
 * the chain against it shows that every event up to `seq` is the one that was there when the
 * checkpoint was taken, since each event's hash covers the one before.
 *
 * @module
 */

/** The JWS `typ` of a checkpoint: never mistaken for an assurance token (RFC 8725 §3.11). */
export const AUDIT_CHECKPOINT_TYPE = "tenant-mfa-audit-checkpoint+jwt";

/** What a checkpoint states, read back from its signed claims. */
export interface CheckpointClaims {
  readonly chain: string;
  readonly seq: number;
  readonly hash: string;
  /** The `iss` it was signed with: the signing server's publicUrl. */
  readonly issuer: string;
}

/** A checkpoint as the API hands it out. */
export interface AuditCheckpoint extends Omit<CheckpointClaims, "issuer"> {
  /** When it was signed, ISO 8601 UTC. */
  readonly at: string;
  /** The signed statement (compact JWS): what the auditor keeps. */
  readonly checkpoint: string;
  /**
   * The public key that verifies it, to keep beside it: a key leaves the JWKS a day after it
   * stops signing, and a checkpoint is kept for years.
   */
  readonly key: PublicJwk & { kid: string; alg: string; use: "sig" };
}

/**
 * What checkpoints take: the token signer and the issuer to open them, and the assurance-token
 * signing keys to sign them (absent without sealing keys: a copy of the store verified alone, say).
 */
export interface CheckpointParts {
  readonly keys?: SigningKeys;
  readonly signer: AssuranceTokenSigner;
  readonly issuer: string;
}

/**
 * Signs and opens checkpoints; without a signer, both answer `assurance.not_configured`, and
 * without signing keys signing does. Opening needs only the public keys the store keeps.
 */
export function auditCheckpoints(context: Context, parts: CheckpointParts | undefined) {
  const need = (): Required<CheckpointParts> => {
    if (parts?.keys === undefined) throw new AppError("assurance.not_configured");
    return parts as Required<CheckpointParts>;
  };
  return {
    /** A checkpoint of `chain` at its head now; `not_found` for a chain with no event. */
    async sign(chain: string): Promise<AuditCheckpoint> {
      const { keys, signer, issuer } = need();
      const head = await readStore(context, (r) => r.audit.head(chain));
      if (head === undefined) throw new AppError("not_found", "The chain holds no event yet.");
      const now = context.clock.now();
      const key = await keys.active();
      const checkpoint = await signer.sign(
        {
          iss: issuer,
          chain,
          seq: head.seq,
          hash: head.hash,
          iat: Math.floor(now.getTime() / 1000),
        },
        key,
        AUDIT_CHECKPOINT_TYPE,
      );
      const published = (await keys.everyPublicKey()).find(({ kid }) => kid === key.kid);
      if (published === undefined) throw new Error("the signing key is not stored");
      return {
        chain,
        seq: head.seq,
        hash: head.hash,
        at: now.toISOString(),
        checkpoint,
        key: { ...published.publicJwk, kid: published.kid, alg: published.alg, use: "sig" },
      };
    },

    /**
     * What `checkpoint` states, when it was signed for a chain of `chains` (any chain, the
     * platform's or a tenant's, when undefined: every chain is verified) by `keptKey` (the
     * public key the auditor kept beside it) or, without one, by any key the store keeps;
     * `audit.checkpoint_invalid` otherwise. With the kept key, keys the store holds have no
     * say: someone who can write the store could add a key of their own to it, or hold a key
     * withdrawn as compromised, and sign checkpoints of any history. The kept key is the
     * auditor's trust anchor, and its signature and the checkpoint `typ` decide: the `iss` is
     * reported, not required to be this process's publicUrl (a copy of the store is verified
     * without the signing server's configuration). With the store's keys, the `iss` must be
     * this server's.
     */
    async open(
      checkpoint: string,
      chains: readonly string[] | undefined,
      keptKey?: unknown,
    ): Promise<CheckpointClaims> {
      if (parts === undefined) throw new AppError("assurance.not_configured");
      const { signer, issuer } = parts;
      const claims =
        keptKey === undefined
          ? await claimsOf(signer, checkpoint, await everyPublicSigningKey(context), issuer)
          : await openKeptCheckpoint(signer, checkpoint, keptKey);
      if (chains !== undefined && !chains.includes(claims.chain)) {
        throw new AppError("audit.checkpoint_invalid", "The checkpoint is of another chain.", {
          chain: claims.chain,
        });
      }
      return claims;
    },
  };
}

/**
 * What `checkpoint` states, when `keptKey` (the public key the auditor kept beside it) signed
 * it; `audit.checkpoint_invalid` otherwise. Needs no store: an auditor checks an export with it
 * (`tenant-mfa audit check-export`). The `iss` is reported, not required.
 */
export function openKeptCheckpoint(
  signer: Pick<AssuranceTokenSigner, "verify">,
  checkpoint: string,
  keptKey: unknown,
): Promise<CheckpointClaims> {
  return claimsOf(signer, checkpoint, [publicKeyOf(keptKey)], undefined);
}

/**
 * The claims of a checkpoint that one of `keys` signed, of a chain, at a position, with the
 * `iss` `issuer` when one is required; `audit.checkpoint_invalid` otherwise.
 */
async function claimsOf(
  signer: Pick<AssuranceTokenSigner, "verify">,
  checkpoint: string,
  keys: readonly PublicSigningKey[],
  issuer: string | undefined,
): Promise<CheckpointClaims> {
  const claims = await signer.verify(checkpoint, keys, AUDIT_CHECKPOINT_TYPE);
  const { iss, chain, seq, hash } = claims ?? {};
  if (
    typeof iss !== "string" ||
    (issuer !== undefined && iss !== issuer) ||
    typeof chain !== "string" ||
    typeof seq !== "number" ||
    !Number.isSafeInteger(seq) ||
    seq < 1 ||
    typeof hash !== "string"
  ) {
    throw new AppError("audit.checkpoint_invalid");
  }
  if (!isChainName(chain)) {
    throw new AppError("audit.checkpoint_invalid", "The checkpoint is of another chain.", {
      chain,
    });
  }
  return { chain, seq, hash, issuer: iss };
}

/** Whether `chain` names a chain: the platform's, or a tenant's. */
function isChainName(chain: string): boolean {
  return chain === chainOf(null) || (chain.startsWith(chainOf("")) && chain !== chainOf(""));
}

const ALGORITHMS: ReadonlySet<unknown> = new Set(["ES256", "EdDSA"]);
/** JWK members of private keys (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/**
 * The key an auditor kept beside a checkpoint (`key` of what {@link AuditCheckpoint} printed),
 * as a public signing key; `audit.checkpoint_invalid` for anything else, a private key too.
 */
function publicKeyOf(kept: unknown): PublicSigningKey {
  const jwk = kept as Record<string, unknown> | null;
  const invalid = () =>
    new AppError(
      "audit.checkpoint_invalid",
      "The key kept with the checkpoint is not a public signing key.",
    );
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) throw invalid();
  const { kid, alg } = jwk;
  if (typeof kid !== "string" || kid.length === 0 || !ALGORITHMS.has(alg)) throw invalid();
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) throw invalid();
  if (!Object.values(jwk).every((value) => typeof value === "string")) throw invalid();
  return {
    kid,
    alg: alg as PublicSigningKey["alg"],
    publicJwk: jwk as Record<string, string>,
  };
}

/** The checkpoint use cases, as {@link auditCheckpoints} builds them. */
export type AuditCheckpoints = ReturnType<typeof auditCheckpoints>;
