import type { Element } from "@xmldom/xmldom";
import { attribute } from "./dom.js";
import { accept, reject, type SamlResult } from "./rejection.js";

// SAML Core §1.3.3: xs:dateTime in UTC, "Z" and no other zone.
const UTC_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

/** An optional time attribute, strictly parsed; a malformed time refuses the response. */
export function timeAttribute(element: Element, name: string): SamlResult<Date | undefined> {
  const raw = attribute(element, name);
  if (raw === undefined) return accept(undefined);
  const millis = UTC_DATE_TIME.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(millis)) {
    return reject("saml.malformed", `<${element.localName ?? ""}> has a malformed ${name}`);
  }
  return accept(new Date(millis));
}

/** The accepted window around `now`: checklist S17, NotBefore ≤ now+skew < … and now−skew < NotOnOrAfter. */
export interface Clock {
  readonly nowMs: number;
  readonly skewMs: number;
}

export function isNotYetValid(notBefore: Date, clock: Clock): boolean {
  return notBefore.getTime() > clock.nowMs + clock.skewMs;
}

export function hasExpired(notOnOrAfter: Date, clock: Clock): boolean {
  return clock.nowMs - clock.skewMs >= notOnOrAfter.getTime();
}
