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
    const events = await tables
      .selectFrom("audit_events")
      .select(["chain", "seq", "tenant", "type", "at", "payload"])
      .where("type", "in", ["webauthn.clone_detected", "webauthn.verified"])
      .orderBy("chain")
      .orderBy("seq")
      .execute();
    // By tenant, principal and authenticator id: the time of the signal that stands, if any.
    const standing = new Map<
      string,
      { tenant: string; principal: string; id: string; at?: string }
    >();
    for (const event of events) {
      const payload = payloadOf(event.payload);
      if (event.tenant === null || payload === undefined) continue;
      const { principal, authenticator } = payload;
      if (typeof principal !== "string" || typeof authenticator !== "string") continue;
      const key = JSON.stringify([event.tenant, principal, authenticator]);
      const credential = { tenant: event.tenant, principal, id: authenticator };
      if (event.type === "webauthn.clone_detected") {
        standing.set(key, { ...credential, at: event.at });
      } else if (payload.warnings === undefined) {
        standing.set(key, credential);
      }
    }
    for (const credential of standing.values()) {
      if (credential.at === undefined) continue;
      await tables
        .updateTable("webauthn_credentials")
        .set({ clone_suspected_at: credential.at })
        .where("tenant", "=", credential.tenant)
        .where("principal", "=", credential.principal)
        .where("id", "=", credential.id)
        .execute();
    }
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("webauthn_credentials").dropColumn("clone_suspected_at").execute();
  },
};

/** An audit event's payload, if it is a JSON object. */
function payloadOf(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
