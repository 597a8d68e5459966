import type { Kysely, Migration } from "kysely";

/** The columns this migration reads and writes, as they stand at 0025. */
interface BindingTables {
  principals: { tenant: string; id: string; idp: string | null; idp_issuer: string | null };
  idps: { tenant: string; id: string; protocol: string; document: string };
}

/**
 * A principal's binding to an IdP remembers the issuer (OIDC) or entity id (SAML) the IdP was
 * registered with when it was made: a subject is unique only there, so once the IdP id names
 * another issuer the binding no longer counts, until an administrator binds the principal again.
 * Bindings made before are filled in with their IdP's issuer or entity id as registered now: what
 * they were made under, as far as the store can tell. One whose IdP is removed (its tombstone
 * keeps no settings) or cannot be read keeps none, and counts for no issuer: should the IdP id be
 * registered again, the principal signs in there once an administrator binds it again.
 */
export const principalIdpIssuerMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("principals").addColumn("idp_issuer", "text").execute();
    const tables = db as unknown as Kysely<BindingTables>;
    const idps = await tables
      .selectFrom("idps")
      .select(["tenant", "id", "protocol", "document"])
      .execute();
    for (const idp of idps) {
      const issuer = issuerInDocument(idp.protocol, idp.document);
      if (issuer === undefined) continue;
      await tables
        .updateTable("principals")
        .set({ idp_issuer: issuer })
        .where("tenant", "=", idp.tenant)
        .where("idp", "=", idp.id)
        .execute();
    }
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("principals").dropColumn("idp_issuer").execute();
  },
};

/** The issuer or entity id an IdP row's document names, if it can be read. */
function issuerInDocument(protocol: string, document: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    return undefined;
  }
  const settings =
    typeof parsed === "object" && parsed !== null
      ? (parsed as Record<string, unknown>)[protocol]
      : undefined;
  const issuer =
    typeof settings === "object" && settings !== null
      ? (settings as Record<string, unknown>)[protocol === "saml" ? "entityId" : "issuer"]
      : undefined;
  return typeof issuer === "string" ? issuer : undefined;
}
