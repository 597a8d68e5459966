import type { Kysely, Migration } from "kysely";

/** The columns this migration reads and writes, as they stand at 0026. */
interface CloneTables {
  webauthn_credentials: {
    tenant: string;
    principal: string;
    id: string;
    clone_suspected_at: string | null;
  };
  audit_events: {
    chain: string;
    seq: number;
    tenant: string | null;
    type: string;
    at: string;
    payload: string;
  };
}

/**
 * When a WebAuthn credential last gave a clone signal (a signature counter that did not grow),
 * while that signal stands: until the key's next verification whose counter grows, the one that
 * counts as attested hardware again. Until then the key counts as not attested, in its view and
 * in decisions. Credentials that gave one before are filled in from the tenants' audit chains:
 * each credential's last `webauthn.clone_detected` stands unless a `webauthn.verified` without
 * warnings (no clone signal) came after it in its chain.
 */
export const webauthnCloneSuspectedMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable("webauthn_credentials")
      .addColumn("clone_suspected_at", "text")
      .execute();
    const tables = db as unknown as Kysely<CloneTables>;
    // Clone signals are rare and verifications are not (every passkey sign-in is one): the signals
    // are read whole, each credential's last one kept, and only then the verifications after it,
    // in pages, through the (chain, type, seq) index, so that a large audit log is never held in
    // memory at once.
    const signals = await tables
      .selectFrom("audit_events")
      .select(["chain", "seq", "tenant", "at", "payload"])
      .where("type", "=", "webauthn.clone_detected")
      .orderBy("chain")
      .orderBy("seq")
      .execute();
    const last = new Map<string, SignalStanding>();
    for (const signal of signals) {
      const credential = credentialOf(signal.payload);
      if (signal.tenant === null || credential === undefined) continue;
      const key = JSON.stringify([signal.tenant, credential.principal, credential.authenticator]);
      last.set(key, { ...signal, tenant: signal.tenant, ...credential });
    }
    for (const signal of last.values()) {
      if (await liftedAfter(tables, signal)) continue;
      await tables
        .updateTable("webauthn_credentials")
        .set({ clone_suspected_at: signal.at })
        .where("tenant", "=", signal.tenant)
        .where("principal", "=", signal.principal)
        .where("id", "=", signal.authenticator)
        .execute();
    }
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("webauthn_credentials").dropColumn("clone_suspected_at").execute();
  },
};

/** Verifications read at once while looking for the one that lifted a signal. */
const PAGE = 1000;

/** A credential's last clone signal, where its tenant's chain has it. */
interface SignalStanding {
  readonly chain: string;
  readonly seq: number;
  readonly tenant: string;
  readonly at: string;
  readonly principal: string;
  readonly authenticator: string;
}

/**
 * Whether a verification of the signal's credential without warnings (its counter grew) came
 * after the signal in its chain.
 */
async function liftedAfter(tables: Kysely<CloneTables>, signal: SignalStanding): Promise<boolean> {
  let after = signal.seq;
  for (;;) {
    const page = await tables
      .selectFrom("audit_events")
      .select(["seq", "payload"])
      .where("chain", "=", signal.chain)
      .where("type", "=", "webauthn.verified")
      .where("seq", ">", after)
      .orderBy("seq")
      .limit(PAGE)
      .execute();
    for (const verified of page) {
      const credential = credentialOf(verified.payload);
      if (
        credential?.principal === signal.principal &&
        credential.authenticator === signal.authenticator &&
        credential.warnings === undefined
      ) {
        return true;
      }
    }
    const end = page.at(-1);
    if (end === undefined || page.length < PAGE) return false;
    after = end.seq;
  }
}

/** The credential an audit event's payload names, if it is a JSON object naming one. */
function credentialOf(
  text: string,
): { principal: string; authenticator: string; warnings: unknown } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const { principal, authenticator, warnings } = parsed as Record<string, unknown>;
  if (typeof principal !== "string" || typeof authenticator !== "string") return undefined;
  return { principal, authenticator, warnings };
}
