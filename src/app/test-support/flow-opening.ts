import { OPENING_PARAMETER } from "../flows/flow-screens.js";

/** The opening secret a created flow's URL carries (`?open=`): its first visit must bring it. */
export function openingOf(started: { readonly url: string }): string {
  const opening = new URL(started.url).searchParams.get(OPENING_PARAMETER);
  if (opening === null) throw new Error(`No opening secret in ${started.url}`);
  return opening;
}

/** A created flow's URL as a request target (path and query), for `inject` or a test client. */
export function openingPath(started: { readonly url: string }): string {
  const url = new URL(started.url);
  return `${url.pathname}${url.search}`;
}
