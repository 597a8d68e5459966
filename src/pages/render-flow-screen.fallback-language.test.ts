/**
 * Threat: a translated page shows a text its catalogue lacks in English without saying so, and a
 * screen reader reads that English with the page's (French, Arabic…) pronunciation rules, which
 * makes it unintelligible; or it marks text as English that is not, the same harm the other way.
 * Every fallback is wrapped in an element with `lang="en"` (and `dir="ltr"` on a right-to-left
 * page), and nothing else is (WCAG 2.x SC 3.1.2, Language of Parts).
 */
import { describe, expect, it } from "vitest";
import { en, type MessageKey } from "./messages/en.js";
import { addCatalogue } from "./messages/index.js";
import { renderFlowScreen, type PageScreen } from "./render-flow-screen.js";
import { sampleScreens } from "./test-support/sample-screens.js";

const screens = await sampleScreens();

/** A catalogue translating every key (as ⟦…⟧) except `missing`. */
function allBut(...missing: MessageKey[]): Record<string, string> {
  return Object.fromEntries(
    Object.entries(en)
      .filter(([key]) => !missing.includes(key as MessageKey))
      .map(([key, text]) => [key, `⟦${text}⟧`]),
  );
}

const escape = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/'/g, "&#39;");

describe("text a translation lacks", () => {
  it("is marked as English where, and only where, the page fell back to it", () => {
    addCatalogue("fr-fb", allBut("exemption.after", "exemption.category"));
    const { html } = renderFlowScreen(screens["exemption"]!, { locale: "fr-fb" });
    expect(html).toContain('<html lang="fr-fb">');
    expect(html).toContain(
      `<p class="muted"><span lang="en">${escape(en["exemption.after"])}</span></p>`,
    );
    expect(html).toContain(`<dt><span lang="en">${en["exemption.category"]}</span></dt>`);
    expect(html).toContain(`<h1>⟦${en["exemption.heading"]}⟧</h1>`);
    // The page's own html element and the two fallbacks: nothing else says it is English.
    expect(html.match(/\slang="/g)).toHaveLength(3);
  });

  it("is isolated left to right on a right-to-left page", () => {
    addCatalogue("ar-fb", allBut("exemption.after"));
    const { html } = renderFlowScreen(screens["exemption"]!, { locale: "ar-fb" });
    expect(html).toContain('<html lang="ar-fb" dir="rtl">');
    expect(html).toContain(
      `<p class="muted"><span lang="en" dir="ltr">${escape(en["exemption.after"])}</span></p>`,
    );
  });

  it("marks nothing on an English page, nor on a page translated throughout", () => {
    addCatalogue("fr-x-all", allBut());
    for (const [name, screen] of Object.entries(screens)) {
      for (const locale of ["en", "fr-x-all"]) {
        const { html } = renderFlowScreen(screen, { locale });
        expect(html.match(/\slang="/g), `${name} in ${locale}`).toHaveLength(1);
      }
    }
  });

  it("marks a heading in the title too, and a message with markup, whose date is in the page's language", () => {
    addCatalogue("fr-title", allBut("exemption.heading", "page.expires"));
    const { html } = renderFlowScreen(screens["exemption"]!, { locale: "fr-title" });
    // The title's own template ("⟦{heading} · {tenant}⟧") has no words: it is in its heading's language.
    expect(html).toContain(
      `<title lang="en">⟦${en["exemption.heading"]} · Acme Corporation⟧</title>`,
    );
    expect(html).toContain(`<h1><span lang="en">${en["exemption.heading"]}</span></h1>`);
    expect(html).toMatch(
      /<p><span lang="en">For your security, this page stops working at <span lang="fr-title"><time [^>]+>[^<]+<\/time><\/span>\.<\/span><\/p>/,
    );
  });

  it("marks an attribute's fallback on its element, and tells the script which of its words are English", () => {
    addCatalogue("fr-attr", allBut("page.logo_alt", "enroll_totp.qr_label", "page.webauthn_busy"));
    const totp = renderFlowScreen(screens["enroll_totp"]!, { locale: "fr-attr" }).html;
    expect(totp).toMatch(/<img class="logo" src="[^"]+" alt="Acme Corporation logo" lang="en">/);
    expect(totp).toContain(
      `<div class="qr" role="img" aria-label="${en["enroll_totp.qr_label"]}" lang="en">`,
    );
    const challenge = renderFlowScreen(screens["challenge"]!, { locale: "fr-attr" }).html;
    expect(challenge).toContain(`data-msg-busy="${en["page.webauthn_busy"]}"`);
    expect(challenge).toContain('data-lang-busy="en"');
    expect(challenge).not.toContain('data-lang-cancelled="en"');
  });

  it("marks each part of a sentence in the language it is in", () => {
    addCatalogue("fr-mixed", {
      "method.password": "mot de passe",
      "notice.totp.invalid_code": "Ce code n’est pas valide.",
    });
    const screen = {
      ...screens["challenge"]!,
      proven: ["password", "totp"],
      notice: { code: "verification.throttled", tone: "error", values: { retryAfter: 30 } },
    } as PageScreen;
    const { html } = renderFlowScreen(screen, { locale: "fr-mixed" });
    // The English sentence holds a French list, whose second item is English again.
    expect(html).toContain(
      '<p class="muted"><span lang="en">Already done in this sign-in: <span lang="fr-mixed">mot de passe et <span lang="en">authenticator app</span></span>.</span></p>',
    );
    expect(html).toContain(
      `role="alert"><span lang="en">${en["notice.verification.throttled"]}</span> <span lang="en">You can try again in 30 seconds.</span></div>`,
    );
  });
});
