import type { Insertable, Kysely, Selectable } from "kysely";
import type { PrincipalStore } from "../../app/ports.js";
import type { PrincipalRecord } from "../../app/records.js";
import type { Population } from "../../core/vocabulary.js";
import type { Database, PrincipalsTable } from "./database.js";
import { checkLimit, decodeCursor, encodeCursor, literalLimit, toPage } from "./page.js";
import { queryTemplate } from "./query-template.js";
import { toTimeText } from "./time-text.js";

// Every decision reads one: compiled once (query-template.ts).
const selectPrincipal = queryTemplate<Selectable<PrincipalsTable>, [string, string]>(
  2,
  (db, tenant, id) =>
    db.selectFrom("principals").selectAll().where("tenant", "=", tenant).where("id", "=", id),
);

/**
 * The principals stored through `db`. With `lockRows` (PostgreSQL, whose transactions run side by
 * side) `hold` locks the row it reads for update and `holdShared` for share; SQLite's write
 * transactions are serial.
 */
export function createPrincipalRepository(
  db: Kysely<Database>,
  options: { readonly lockRows: boolean },
): PrincipalStore {
  const selectOne = (tenant: string, id: string) =>
    db.selectFrom("principals").selectAll().where("tenant", "=", tenant).where("id", "=", id);
  return {
    async get(tenant, id) {
      const [row] = (await selectPrincipal(db, tenant, id)).rows;
      return row === undefined ? undefined : toPrincipal(row);
    },

    async hold(tenant, id) {
      if (!options.lockRows) return this.get(tenant, id);
      const row = await selectOne(tenant, id).forUpdate().executeTakeFirst();
      return row === undefined ? undefined : toPrincipal(row);
    },

    // FOR SHARE: two code exchanges of one principal need not queue, only a change of it. Under
    // READ COMMITTED a locking read returns the newest committed version of the row once any
    // writer of it has ended, not the one the statement's snapshot saw.
    async holdShared(tenant, id) {
      if (!options.lockRows) return this.get(tenant, id);
      const row = await selectOne(tenant, id).forShare().executeTakeFirst();
      return row === undefined ? undefined : toPrincipal(row);
    },

    async list(tenant, { after, limit }) {
      checkLimit(limit);
      let query = db.selectFrom("principals").selectAll().where("tenant", "=", tenant);
      if (after !== undefined) query = query.where("id", ">", decodeCursor(after));
      const rows = await query
        .orderBy("id")
        .limit(literalLimit(limit + 1))
        .execute();
      return toPage(rows.map(toPrincipal), limit, (principal) => encodeCursor(principal.id));
    },

    // The record replaces the stored one whole, so that `get` returns exactly what was upserted.
    async upsert(record) {
      const { tenant: _tenant, id: _id, ...row } = principalRow(record);
      await db
        .insertInto("principals")
        .values(principalRow(record))
        .onConflict((conflict) => conflict.columns(["tenant", "id"]).doUpdateSet(row))
        .execute();
    },

    // Each only ever later: a clock set back cannot move the instant back, nor an older position
    // the position. Canonical time texts (toTimeText) order as the instants do. The row is
    // written whatever it held, so that the count alone says whether the principal exists.
    async withdrawProofs(tenant, id, { at, seq }) {
      if (!Number.isSafeInteger(seq) || seq < 1) {
        throw new RangeError(
          `A withdrawal's audit position is a whole number from 1: ${String(seq)}`,
        );
      }
      const time = toTimeText(at, "at");
      const result = await db
        .updateTable("principals")
        .set((eb) => ({
          proofs_withdrawn_at: eb
            .case()
            .when(
              eb.or([eb("proofs_withdrawn_at", "is", null), eb("proofs_withdrawn_at", "<", time)]),
            )
            .then(time)
            .else(eb.ref("proofs_withdrawn_at"))
            .end()
            .$castTo<string>(),
          proofs_withdrawn_seq: eb
            .case()
            .when(
              eb.or([eb("proofs_withdrawn_seq", "is", null), eb("proofs_withdrawn_seq", "<", seq)]),
            )
            .then(seq)
            .else(eb.ref("proofs_withdrawn_seq"))
            .end()
            .$castTo<number>(),
        }))
        .where("tenant", "=", tenant)
        .where("id", "=", id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async insert(record) {
      const inserted = await db
        .insertInto("principals")
        .values(principalRow(record))
        .onConflict((conflict) => conflict.columns(["tenant", "id"]).doNothing())
        .returning("id")
        .executeTakeFirst();
      return inserted !== undefined;
    },
  };
}

function principalRow(record: PrincipalRecord): Insertable<PrincipalsTable> {
  return {
    tenant: record.tenant,
    id: record.id,
    external_id: record.externalId ?? null,
    population: record.population,
    display_name: record.displayName ?? null,
    shared_login: record.sharedLogin === true ? 1 : 0,
    idp: record.idp ?? null,
    idp_issuer: record.idpIssuer ?? null,
    created_at: toTimeText(record.createdAt, "createdAt"),
    updated_at: toTimeText(record.updatedAt, "updatedAt"),
  };
}

function toPrincipal(row: Selectable<PrincipalsTable>): PrincipalRecord {
  return {
    tenant: row.tenant,
    id: row.id,
    ...(row.external_id === null ? {} : { externalId: row.external_id }),
    population: row.population as Population,
    ...(row.display_name === null ? {} : { displayName: row.display_name }),
    ...(row.shared_login === 1 ? { sharedLogin: true } : {}),
    ...(row.idp === null ? {} : { idp: row.idp }),
    ...(row.idp_issuer === null ? {} : { idpIssuer: row.idp_issuer }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.proofs_withdrawn_at === null ? {} : { proofsWithdrawnAt: row.proofs_withdrawn_at }),
    ...(row.proofs_withdrawn_seq === null ? {} : { proofsWithdrawnSeq: row.proofs_withdrawn_seq }),
  };
}
