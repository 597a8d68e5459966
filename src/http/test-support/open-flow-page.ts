import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { expect } from "vitest";
import { openingPath } from "../../app/test-support/flow-opening.js";
import { setBrowserCookie } from "./browser-cookie.js";

/** A hosted flow's page as a browser first gets it, and what the browser holds then. */
export interface OpenedFlowPage {
  /** The flow's page, at its own URL. */
  readonly page: LightMyRequestResponse;
  /** The browser cookie, as a `Cookie` header value: the one sent, else the one set. */
  readonly cookie: string;
  /** The path (and query) of the flow's own URL, where the opening visit sent the browser. */
  readonly path: string;
}

/**
 * Opens a created flow as a browser opens the URL the API gave (`started.url`): the visit with
 * the opening secret binds the flow and is sent on (303) to the flow's own URL, which the
 * browser then visits with its cookie alone.
 */
export async function openFlowPage(
  server: FastifyInstance,
  started: { readonly url: string },
  cookie?: string,
): Promise<OpenedFlowPage> {
  const headers = cookie === undefined ? {} : { cookie };
  const opened = await server.inject({ url: openingPath(started), headers });
  expect(opened.statusCode, opened.body).toBe(303);
  const held = setBrowserCookie(opened) ?? cookie;
  if (held === undefined) throw new Error("the opening visit left the browser no cookie");
  const location = new URL(String(opened.headers.location));
  const path = `${location.pathname}${location.search}`;
  const page = await server.inject({ url: path, headers: { cookie: held } });
  return { page, cookie: held, path };
}
