import { sql, SqliteAdapter, type Kysely, type RawBuilder } from "kysely";
import type { SealedKeyCount, SealedSecretKind, SealedSecretStore } from "../../app/ports.js";
import type { Database } from "./database.js";
import { WITHDRAWN_PRIVATE_JWK } from "./signing-key-repository.js";
import { toTimeText } from "./time-text.js";

interface CountRow {
  key_id: string;
  count: number | string;
  until: string | null;
}

/**
 * The sealed values' key ids counted where they are stored. A sealed value reads
 * `v1.<key id>.<iv>.<body>` (`src/secrets/aes-gcm-sealer.ts`): the id is its second field
 * between dots, which PostgreSQL's `split_part` gives and SQLite spells out with `instr` (the
 * empty id for a value without a dot, the rest after the first for one without a second, on
 * both). JSON documents are text in both dialects.
 */
export function createSealedSecretRepository(db: Kysely<Database>): SealedSecretStore {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;

  const keyId = (value: RawBuilder<unknown>): RawBuilder<string> => {
    if (!sqlite) return sql<string>`split_part(${value}, '.', 2)`;
    const rest = sql`substr(${value}, instr(${value}, '.') + 1)`;
    return sql<string>`case
      when instr(${value}, '.') = 0 then ''
      when instr(${rest}, '.') = 0 then ${rest}
      else substr(${rest}, 1, instr(${rest}, '.') - 1) end`;
  };
  const jsonText = (column: string, path: readonly string[]): RawBuilder<unknown> =>
    sqlite
      ? sql`json_extract(${sql.ref(column)}, ${`$.${path.join(".")}`})`
      : sql`(${sql.ref(column)}::jsonb #>> ${`{${path.join(",")}}`})`;

  async function count(
    kind: SealedSecretKind,
    table: string,
    value: RawBuilder<unknown>,
    where: RawBuilder<unknown> = sql`1 = 1`,
    until?: string,
  ): Promise<SealedKeyCount[]> {
    const { rows } = await sql<CountRow>`
      select ${keyId(value)} as key_id, count(*) as count,
        ${until === undefined ? sql`null` : sql`max(${sql.ref(until)})`} as until
      from ${sql.table(table)}
      where ${value} is not null and ${where}
      group by 1
      order by 1`.execute(db);
    return rows.map((row) => ({
      keyId: row.key_id,
      kind,
      count: Number(row.count),
      ...(row.until === null ? {} : { until: row.until }),
    }));
  }

  return {
    async countByKey(at, enrolmentsBegunAfter) {
      const now = toTimeText(at, "at");
      const begunAfter = toTimeText(enrolmentsBegunAfter, "enrolmentsBegunAfter");
      return [
        // An enrolment past its time is never confirmed, so its secret never opened again.
        ...(await count(
          "totp_secret",
          "authenticators",
          sql.ref("sealed_secret"),
          sql`(status <> 'pending' or created_at > ${begunAfter})`,
        )),
        ...(await count(
          "idp_client_secret",
          "idps",
          jsonText("document", ["oidc", "sealedClientSecret"]),
          sql`removed = 0`,
        )),
        // A withdrawn key's private JWK is discarded: it names no key.
        ...(await count(
          "signing_key",
          "signing_keys",
          sql.ref("sealed_private_jwk"),
          sql`sealed_private_jwk <> ${WITHDRAWN_PRIVATE_JWK}`,
        )),
        ...(await count(
          "pkce_verifier",
          "federation_requests",
          jsonText("document", ["sealedCodeVerifier"]),
          sql`consumed_at is null and expires_at > ${now}`,
          "expires_at",
        )),
      ];
    },
  };
}
