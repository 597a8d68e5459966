/**
 * Threat: the page that refuses a sign-in explains why in English whatever the page's language,
 * so a person who reads only the page's language cannot tell what to ask their administrator; or
 * a translated reason loses the value its message carried (a date, the field that was wrong).
 * Each reason is shown by its code from the catalogue, English where a translation lacks it
 * (marked as English).
 */
import { describe, expect, it } from "vitest";
import { reason, REASONS, type ReasonCode } from "../core/reasons.js";
import { en } from "./messages/en.js";
import { addCatalogue, isMessageKey, placeholdersOf } from "./messages/index.js";
import { renderFlowScreen, type PageScreen } from "./render-flow-screen.js";
import { sampleScreens } from "./test-support/sample-screens.js";

const screens = await sampleScreens();
const denied = screens["denied"] as Extract<PageScreen, { kind: "denied" }>;

/** The items of the page's list of reasons. */
const reasonsOf = (html: string): string[] =>
  [
    ...(/<ul class="reasons">([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? "").matchAll(/<li>(.*?)<\/li>/g),
  ].map((m) => m[1] ?? "");

addCatalogue("fr", {
  "denied.heading": "Vous ne pouvez pas vous connecter pour le moment",
  "reason.requirement.unmet.phishing_resistance":
    "Cette connexion exige une méthode résistante à l’hameçonnage, comme une clé d’accès ou une clé de sécurité.",
  "reason.input.invalid": "La demande n’a pas pu être évaluée : {detail}.",
  "reason.policy.report_only": "Votre organisation exigera la MFA à partir du {date}.",
});

describe("the reasons of a denied page", () => {
  it("has a catalogue text for every reason code, in English the core's message", () => {
    for (const code of Object.keys(REASONS) as ReasonCode[]) {
      const key = `reason.${code}`;
      expect(isMessageKey(key), key).toBe(true);
      expect(en[key as keyof typeof en], key).toBe(REASONS[code]);
    }
    const keys = Object.keys(en).filter((key) => key.startsWith("reason."));
    expect(keys).toHaveLength(Object.keys(REASONS).length);
  });

  it("are in the page's language, and in marked English where the translation lacks one", () => {
    const { html } = renderFlowScreen(denied, { locale: "fr" });
    expect(reasonsOf(html)).toEqual([
      "Cette connexion exige une méthode résistante à l’hameçonnage, comme une clé d’accès ou une clé de sécurité.",
      `<span lang="en">${REASONS["challenge.unavailable"]}</span>`,
    ]);
  });

  it("keep the values of their messages, the engine's English detail marked as English", () => {
    const screen = {
      ...denied,
      reasons: [
        reason("input.invalid", { detail: "options.now must be a valid Date" }),
        reason("policy.report_only", { date: "2027-01-15" }),
      ],
    };
    expect(reasonsOf(renderFlowScreen(screen, { locale: "fr" }).html)).toEqual([
      'La demande n’a pas pu être évaluée : <span lang="en">options.now must be a valid Date</span>.',
      "Votre organisation exigera la MFA à partir du 2027-01-15.",
    ]);
    expect(reasonsOf(renderFlowScreen(screen).html)).toEqual([
      "The request could not be evaluated: options.now must be a valid Date.",
      "Your organisation will require MFA from 2027-01-15. Set it up now to avoid interruption.",
    ]);
  });

  it("shows a message that is not its code's, as it is, in marked English", () => {
    const screen = {
      ...denied,
      reasons: [
        { code: "input.invalid", message: "Something else entirely" },
        { code: "no.such_code", message: "A reason from a newer version" },
      ],
    } as unknown as PageScreen;
    expect(reasonsOf(renderFlowScreen(screen, { locale: "fr" }).html)).toEqual([
      '<span lang="en">Something else entirely</span>',
      '<span lang="en">A reason from a newer version</span>',
    ]);
  });

  it("leave out a value the engine did not have, never showing braces", () => {
    const screen = { ...denied, reasons: [reason("policy.report_only")] };
    expect(reasonsOf(renderFlowScreen(screen, { locale: "fr" }).html)).toEqual([
      "Votre organisation exigera la MFA à partir du .",
    ]);
  });

  it("are listed once each", () => {
    const screen = { ...denied, reasons: [reason("engine.error"), reason("engine.error")] };
    expect(reasonsOf(renderFlowScreen(screen).html)).toEqual([REASONS["engine.error"]]);
  });

  it("keep every placeholder of the English text in each reason", () => {
    for (const code of Object.keys(REASONS) as ReasonCode[]) {
      expect(placeholdersOf(en[`reason.${code}` as keyof typeof en]).sort()).toEqual(
        placeholdersOf(REASONS[code]).sort(),
      );
    }
  });
});
