import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the fake API received. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

/**
 * A loopback HTTP server speaking the flow API's contract (`POST /v1/tenants/:tenant/flows`,
 * `POST /v1/flows/exchange`, problem+json errors), until the real endpoints exist. It records
 * every request, so that tests see exactly what the SDK sent.
 */
export interface FakeFlowApi {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly received: ReceivedRequest[];
  /** Codes the exchange accepts, each once, with the token it answers. */
  readonly codes: Map<string, { token: string; tenant: string; principal: string }>;
  /** Replaces the answer to the next request (status, content type, raw body). */
  answerNextWith(answer: { status: number; contentType?: string; body: string }): void;
  close(): Promise<void>;
}

const problem = (res: ServerResponse, status: number, code: string, detail: string) => {
  res.writeHead(status, { "content-type": "application/problem+json" });
  res.end(
    JSON.stringify({ type: `urn:tenant-mfa:problem:${code}`, title: detail, status, detail, code }),
  );
};

const readBody = async (req: IncomingMessage): Promise<unknown> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text.length === 0 ? undefined : (JSON.parse(text) as unknown);
};

export async function openFakeFlowApi(
  options: { publicUrl?: string; returnUrls?: readonly string[] } = {},
): Promise<FakeFlowApi> {
  const apiKey = "tmfa_test_platform_service_key";
  const publicUrl = options.publicUrl ?? "https://mfa.test";
  const returnUrls = options.returnUrls ?? ["https://platform.test/mfa/return"];
  const received: ReceivedRequest[] = [];
  const codes = new Map<string, { token: string; tenant: string; principal: string }>();
  let nextAnswer: { status: number; contentType?: string; body: string } | undefined;
  let flows = 0;

  const server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      const body = await readBody(req).catch(() => "(not json)");
      received.push({
        method: req.method ?? "",
        path,
        authorization: req.headers.authorization,
        contentType: req.headers["content-type"],
        body,
      });
      if (nextAnswer !== undefined) {
        const answer = nextAnswer;
        nextAnswer = undefined;
        res.writeHead(answer.status, { "content-type": answer.contentType ?? "application/json" });
        res.end(answer.body);
        return;
      }
      if (req.headers.authorization !== `Bearer ${apiKey}`) {
        problem(
          res,
          401,
          "auth.invalid_credentials",
          "The API key is unknown, expired or revoked.",
        );
        return;
      }
      const flowsPath = /^\/v1\/tenants\/([^/]+)\/flows$/.exec(path);
      const input = (body ?? {}) as Record<string, unknown>;
      if (req.method === "POST" && flowsPath !== null) {
        if (typeof input.return_to !== "string" || !returnUrls.includes(input.return_to)) {
          problem(res, 400, "flow.return_to_not_allowed", "`return_to` is not registered.");
          return;
        }
        const flow = `flw_${String(++flows).padStart(6, "0")}`;
        res.writeHead(201, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            flow,
            // As the real API: the flow's page with its opening secret (24 random bytes).
            url: `${publicUrl}/t/${flowsPath[1] ?? ""}/flows/${flow}?open=${randomBytes(24).toString("base64url")}`,
            expires_at: "2026-11-23T12:10:00.000Z",
          }),
        );
        return;
      }
      if (req.method === "POST" && path === "/v1/flows/exchange") {
        const found = typeof input.code === "string" ? codes.get(input.code) : undefined;
        if (found === undefined) {
          problem(res, 400, "flow.code_invalid", "The code is unknown, expired or used.");
          return;
        }
        codes.delete(input.code as string);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            token: found.token,
            token_type: "tenant-mfa-assurance+jwt",
            expires_in: 300,
            tenant: found.tenant,
            principal: found.principal,
            decision: "dec_000042",
          }),
        );
        return;
      }
      problem(res, 404, "not_found", "There is no such resource.");
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${String(port)}`,
    apiKey,
    received,
    codes,
    answerNextWith(answer) {
      nextAnswer = answer;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error === undefined) resolve();
          else reject(error);
        });
        server.closeAllConnections();
      }),
  };
}
