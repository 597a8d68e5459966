import type { FastifyRequest } from "fastify";
import { Readable } from "node:stream";
import type { Application, Caller } from "../../app/application.js";
import { AppError } from "../../app/errors.js";
import type { RouteContext } from "../add-route.js";
import { BEARER } from "../authenticate.js";
import { logProblem, renderProblem } from "../problem.js";
import { auditListQuery } from "../request-schemas.js";
import { pages } from "../response-schemas.js";
import { listBody, pageRequest } from "./api-context.js";

const JSON_LINES = "application/x-ndjson";

/**
 * What every route that reads one audit chain shares, for checking and for the OpenAPI document:
 * its query (`after`, `limit`, the `type`, `from` and `to` filters, `format`), the `Accept`
 * header that asks for JSON Lines, and its answer.
 */
export const auditEventsRoute = {
  method: "GET" as const,
  tag: "audit",
  query: auditListQuery,
  requestHeaders: [{ name: "accept", description: "`application/x-ndjson` exports JSON Lines." }],
  success: {
    status: 200,
    description:
      "A page of events; as JSON Lines (`?format=jsonl` or `Accept: application/x-ndjson`), every event from `after` on, one per line.",
    schema: pages.audit,
    alternatives: [JSON_LINES],
  },
};

function wantsJsonLines(request: FastifyRequest, format: "json" | "jsonl" | undefined): boolean {
  if (format !== undefined) return format === "jsonl";
  const accept = request.headers.accept ?? "";
  return accept.split(",").some((part) => part.split(";")[0]?.trim().toLowerCase() === JSON_LINES);
}

/**
 * Answers a request for the events of tenant `tenant`'s chain, or with `null` the platform's: a
 * page of JSON, or as JSON Lines every event from `after` on, read page by page while it streams.
 */
export async function answerAuditEvents(
  app: Application,
  tenant: string | null,
  context: Pick<
    RouteContext<unknown, typeof auditListQuery, undefined>,
    "query" | "caller" | "request" | "reply"
  >,
): Promise<unknown> {
  const { query, caller, request, reply } = context;
  const { after: _after, limit: _limit, format, ...filter } = query;
  if (!wantsJsonLines(request, format)) {
    return listBody(await app.audit.list(caller, tenant, filter, pageRequest(query)));
  }
  // The first page is read before answering, so that refusals are still problems.
  const pageSize = query.limit ?? 500;
  const first = await app.audit.list(caller, tenant, filter, {
    ...pageRequest(query),
    limit: pageSize,
  });
  // The export reads on for as long as the client keeps reading (a slow reader holds it open
  // through back-pressure), so each further page is read with the key as it stands then: a key
  // revoked or expired meanwhile stops the export, as it stops every other request, rather than
  // following the chain's new events on (the cache of keys makes this one lookup a second).
  const standing = async (): Promise<Caller> => {
    const secret = BEARER.exec(request.headers.authorization ?? "")?.[1];
    if (secret === undefined) throw new AppError("auth.missing_credentials");
    return app.authenticate(secret);
  };
  async function* lines() {
    let page = first;
    for (;;) {
      for (const event of page.items) yield `${JSON.stringify(event)}\n`;
      if (page.next === undefined || page.items.length === 0) return;
      try {
        const after = page.next;
        page = await app.audit.list(await standing(), tenant, filter, { after, limit: pageSize });
      } catch (error) {
        // The answer is under way: its status cannot change. Its last line says what stopped it
        // (a `problem`, which no event line has), then the transfer is cut short rather than
        // ended. The cut alone is not enough: over HTTP/1.0 (no chunks, as proxies often speak
        // to the service) a closed connection is how a complete answer ends too.
        const rendered = renderProblem(error, request.url);
        logProblem(request.log, error, rendered);
        // Written past the stream, whose lines all went to the response before this generator
        // ran on: the callback says the line reached the connection, which the cut then ends
        // (cut before, the connection would drop it).
        const line = `${JSON.stringify({ problem: rendered.problem })}\n`;
        await new Promise<void>((resolve) => {
          reply.raw.write(line, () => {
            resolve();
          });
        });
        throw error;
      }
    }
  }
  reply.type(JSON_LINES);
  return reply.send(Readable.from(lines()));
}
