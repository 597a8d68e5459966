/**
 * Threat: a hosted page turns a value it shows (a tenant's name, a principal's display name, an
 * authenticator's name, a reason) into markup that runs (stored XSS on the MFA page itself), its
 * CSP allows inline code or lets a tenant setting add a directive, a form posts without its CSRF
 * token or elsewhere than the flow, a page answers with the wrong status, or words bypass the
 * catalogue and cannot be translated. The page structure is also checked in a real browser
 * (pages.browser.test.ts).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { FlowFailureCode, FlowMessageCode } from "../app/flows/flow-screens.js";
import { reason } from "../core/reasons.js";
import { flowAssetUrl } from "./assets.js";
import { en } from "./messages/en.js";
import { addCatalogue, message } from "./messages/index.js";
import {
  FAILURE_MESSAGES,
  FAILURE_STATUSES,
  NOTICE_MESSAGES,
  renderFlowScreen,
  type PageScreen,
} from "./render-flow-screen.js";
import { FRAME, RENDERED_KINDS, sampleScreens } from "./test-support/sample-screens.js";

const screens = await sampleScreens();
const samples = Object.entries(screens);

const XSS = `<script>alert(1)</script>`;
const ATTRIBUTE_XSS = `" onmouseover="alert(1)" x="`;

/** The opening tags of `name` in `html`. */
const tags = (html: string, name: string): string[] =>
  [...html.matchAll(new RegExp(`<${name}\\b[^>]*>`, "g"))].map((m) => m[0]);
const attribute = (tag: string, name: string): string | undefined =>
  new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];

describe("every screen kind", () => {
  it("has a sample here", () => {
    expect(new Set(samples.map(([, screen]) => screen.kind))).toEqual(new Set(RENDERED_KINDS));
  });

  it.each(samples)("%s renders a complete page", (_, screen) => {
    const { html } = renderFlowScreen(screen);
    expect(html.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
    expect(html).toMatch(/<title>[^<]+<\/title>/);
    expect(tags(html, "h1")).toHaveLength(1);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain(`<link rel="stylesheet" href="${flowAssetUrl("flow.css")}">`);
    expect(html).toContain('<p class="tenant">Acme Corporation</p>');
    expect(html.trimEnd().endsWith("</html>")).toBe(true);
  });

  it.each(samples)("%s has no inline script, style or event handler", (_, screen) => {
    const { html, contentSecurityPolicy } = renderFlowScreen(screen);
    for (const script of tags(html, "script")) expect(script).toMatch(/ src="\/flow-assets\//);
    expect(html).not.toMatch(/<style\b/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/\son[a-z]+=/);
    expect(html).not.toMatch(/javascript:/);
    expect(contentSecurityPolicy).not.toMatch(/unsafe-|\*/);
  });

  it.each(samples)(
    "%s posts every form to the flow with its action and CSRF token",
    (_, screen) => {
      const { html } = renderFlowScreen(screen);
      const forms = html.split("<form").slice(1);
      if (screen.kind === "failed") expect(forms).toEqual([]);
      for (const form of forms) {
        expect(form).toMatch(/^ method="post" action="\/t\/acme\/flows\/flw_7Hk2pQ"/);
        expect(form).toMatch(/<input type="hidden" name="action" value="[a-z_]+">/);
        expect(form).toContain('<input type="hidden" name="csrf" value="csrf-token-123">');
      }
    },
  );

  it.each(samples)("%s labels every visible field", (_, screen) => {
    const { html } = renderFlowScreen(screen);
    const fields = [...tags(html, "input"), ...tags(html, "select")].filter(
      (tag) => attribute(tag, "type") !== "hidden",
    );
    for (const field of fields) {
      const id = attribute(field, "id");
      expect(id, field).toBeDefined();
      expect(html).toContain(`<label for="${id}">`);
    }
    for (const image of tags(html, "img")) expect(attribute(image, "alt")).toMatch(/\S/);
  });
});

describe("statuses", () => {
  it.each([
    ["challenge", 200],
    ["challenge-enrol", 200],
    ["enroll_totp", 200],
    ["enroll_webauthn", 200],
    ["exemption", 200],
    ["report_only", 200],
    ["denied", 403],
  ])("%s answers %i", (name, status) => {
    expect(renderFlowScreen(screens[name]!).status).toBe(status);
  });

  it.each<[FlowFailureCode | "flow.bad_request" | "request.not_a_navigation", number]>([
    ["flow.not_found", 404],
    ["flow.expired", 410],
    ["flow.used", 410],
    ["flow.other_browser", 403],
    ["flow.csrf", 403],
    ["flow.return_to_not_allowed", 400],
    ["flow.unavailable", 503],
    ["flow.cannot_complete", 500],
    ["flow.bad_request", 400],
    ["request.not_a_navigation", 400],
  ])("the failure %s answers %i and explains itself", (code, status) => {
    const page = renderFlowScreen({ kind: "failed", code });
    expect(page.status).toBe(status);
    const [title, body] = FAILURE_MESSAGES[code];
    expect(page.html).toContain(`<h1>${escapeText(en[title])}</h1>`);
    expect(page.html).toContain(escapeText(en[body]));
    expect(page.html).toContain(`<code>${code}</code>`);
    expect(page.html).not.toContain("<footer");
  });

  // A help desk looks the page's reference up in docs/flows.md: each with its status and title.
  it("lists every failure in docs/flows.md with its status and the title its page shows", () => {
    const doc = readFileSync(new URL("../../docs/flows.md", import.meta.url), "utf8");
    const listed = [
      ...doc.matchAll(/^\| `((?:flow|request)\.[a-z_]+)` +\| (\d{3}) +\| (.+?) +\|/gm),
    ].map(([, code, status, title]) => `${String(code)} ${String(status)} ${String(title)}`);
    const failures = Object.entries(FAILURE_STATUSES).map(
      ([code, status]) =>
        `${code} ${String(status)} ${en[FAILURE_MESSAGES[code as keyof typeof FAILURE_MESSAGES][0]]}`,
    );
    expect(listed.sort()).toEqual(failures.sort());
  });
});

describe("the Content Security Policy", () => {
  it("allows this server's assets only, forms to the flow's targets, no framing", () => {
    expect(renderFlowScreen(screens["challenge"]!).contentSecurityPolicy).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
        "connect-src 'self'; form-action 'self' https://app.example.com https://idp.acme.example; " +
        "frame-ancestors 'none'; base-uri 'none'",
    );
  });

  it("adds the logo's origin to img-src and shows the logo with its alternative text", () => {
    const page = renderFlowScreen({
      kind: "failed",
      code: "flow.used",
      tenant: { id: "acme", name: "Acme", logoUrl: "https://cdn.acme.example/brand/logo.svg?v=2" },
    });
    expect(page.contentSecurityPolicy).toContain("img-src 'self' data: https://cdn.acme.example;");
    expect(page.html).toContain(
      '<img class="logo" src="https://cdn.acme.example/brand/logo.svg?v=2" alt="Acme logo">',
    );
  });

  it("takes only origins from tenant-supplied URLs, so none can add a directive", () => {
    const page = renderFlowScreen({
      ...screens["exemption"]!,
      frame: {
        ...FRAME,
        tenant: { ...FRAME.tenant, logoUrl: "javascript:alert(1)" },
        formTargets: [
          "https://ok.example/path?x=1",
          "https://evil.example; script-src 'unsafe-inline'",
          "javascript:alert(1)",
          "not a url",
        ],
      },
    } as PageScreen);
    expect(page.contentSecurityPolicy).toContain("form-action 'self' https://ok.example;");
    expect(page.contentSecurityPolicy).not.toMatch(/evil|unsafe|javascript/);
    expect(page.html).not.toContain("<img");
  });
});

describe("escaping", () => {
  const hostile = {
    ...FRAME,
    tenant: { id: "acme", name: XSS },
    principal: { id: "p", displayName: `${XSS}${ATTRIBUTE_XSS}` },
    csrfToken: ATTRIBUTE_XSS,
  };

  it.each(samples.filter(([, s]) => s.kind !== "failed"))(
    "%s renders a tenant called <script>alert(1)</script> inert",
    (_, screen) => {
      const { html } = renderFlowScreen({ ...screen, frame: hostile } as PageScreen);
      expect(html).not.toContain(XSS);
      expect(html).not.toContain(ATTRIBUTE_XSS);
      expect(html).not.toMatch(/\sonmouseover="/);
      expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
      for (const script of tags(html, "script")) expect(script).toMatch(/ src="\/flow-assets\//);
    },
  );

  it("escapes authenticator, IdP and reason text too", () => {
    const challenge = renderFlowScreen({
      kind: "challenge",
      frame: FRAME,
      options: [
        {
          kind: "verify_totp",
          authenticators: [
            { id: ATTRIBUTE_XSS, name: XSS },
            { id: "b", name: "B" },
          ],
        },
        { kind: "idp", idp: ATTRIBUTE_XSS, name: XSS },
      ],
      proven: [XSS],
    }).html;
    const denied = renderFlowScreen({
      kind: "denied",
      frame: FRAME,
      reasons: [{ code: "engine.error", message: XSS }],
      decision: XSS,
    }).html;
    for (const html of [challenge, denied]) {
      expect(html).not.toContain(XSS);
      expect(html).not.toMatch(/\sonmouseover="/);
    }
  });

  it("inlines only a QR code shaped as the qrcode package writes it", () => {
    const hostileSvgs = [
      `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`,
      `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><path d="M0 0h1"/></svg>`,
      `<svg xmlns="http://www.w3.org/2000/svg"><path style="fill:red" d="M0 0h1"/></svg>`,
      `<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><path d="M0 0"/></a></svg>`,
    ];
    for (const qrSvg of hostileSvgs) {
      const { html } = renderFlowScreen({ ...screens["enroll_totp"]!, qrSvg } as PageScreen);
      expect(html).not.toContain("<svg");
      expect(html).toContain("JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP");
    }
    const real = renderFlowScreen(screens["enroll_totp"]!).html;
    expect(real).toMatch(
      /<div class="qr" role="img" aria-label="QR code for your authenticator app"><svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 \d+ \d+" shape-rendering="crispEdges"><path fill="#ffffff"/,
    );
  });
});

describe("the screens say what they must", () => {
  it("offers each challenge option under its own heading when there are several", () => {
    const { html } = renderFlowScreen(screens["challenge"]!);
    expect(tags(html, "h2")).toHaveLength(3);
    expect(html).toContain('<h2 id="option-1-heading">Passkey or security key</h2>');
    expect(html).toContain('<h2 id="option-2-heading">Authenticator app</h2>');
    expect(html).toContain('<h2 id="option-3-heading">Recovery code</h2>');
    expect(html).toContain("Already done in this sign-in: password.");
  });

  it("shows a single option without a heading", () => {
    const { html } = renderFlowScreen(screens["challenge-error"]!);
    expect(tags(html, "h2")).toEqual([]);
    expect(html).toContain('<select id="option-1-authenticator" name="authenticator">');
    expect(html).toContain("This action needs a stronger or more recent verification.");
  });

  it("asks for a TOTP code as a one-time code on a numeric keypad", () => {
    const [code] = tags(renderFlowScreen(screens["challenge"]!).html, "input").filter((t) =>
      t.includes('id="option-2-code"'),
    );
    expect(attribute(code!, "name")).toBe("code");
    expect(attribute(code!, "autocomplete")).toBe("one-time-code");
    expect(attribute(code!, "inputmode")).toBe("numeric");
  });

  it("puts an error in the alert region and links the code field to it", () => {
    const { html } = renderFlowScreen(screens["challenge-error"]!);
    expect(html).toContain(
      `<div id="flow-alert" class="notice notice-error" role="alert">${escapeText(
        en["notice.totp.invalid_code"],
      )}</div>`,
    );
    const [code] = tags(html, "input").filter((t) => t.includes('name="code"'));
    expect(attribute(code!, "aria-describedby")).toBe("flow-alert");
    expect(attribute(code!, "aria-invalid")).toBe("true");
  });

  it.each([
    ["totp.invalid_code", "option-2-code", "option-3-code"],
    ["recovery_code.invalid", "option-3-code", "option-2-code"],
  ] as const)(
    "marks only the field whose code was wrong invalid on %s, not the other method's",
    (code, wrong, other) => {
      const { html } = renderFlowScreen({
        ...screens["challenge"]!,
        notice: { code, tone: "error" },
      } as PageScreen);
      const field = (id: string) => tags(html, "input").find((t) => t.includes(`id="${id}"`))!;
      expect(attribute(field(wrong), "aria-invalid")).toBe("true");
      expect(attribute(field(wrong), "aria-describedby")).toBe("flow-alert");
      expect(attribute(field(other), "aria-invalid")).toBeUndefined();
      expect(attribute(field(other), "aria-describedby")).toBeUndefined();
    },
  );

  it("says a new TOTP enrolment replaced the one that expired, without calling the code wrong", () => {
    const { html } = renderFlowScreen({
      ...screens["enroll_totp"]!,
      notice: { code: "enrolment.expired", tone: "error" },
    } as PageScreen);
    expect(html).toContain(`role="alert">${escapeText(en["notice.enrolment.expired"])}</div>`);
    expect(html).not.toContain("aria-invalid");
  });

  it("shows an informative notice as a status, with its values when it has them", () => {
    const { html } = renderFlowScreen({
      ...screens["challenge"]!,
      notice: { code: "recovery_codes.running_low", tone: "info", values: { remaining: 2 } },
    } as PageScreen);
    expect(html).toContain('<div id="flow-alert" class="notice notice-error" role="alert"></div>');
    expect(html).toContain(
      '<div class="notice notice-info" role="status">You are running low on recovery codes. Create new ones soon. Recovery codes left: 2.</div>',
    );
    expect(html).not.toContain("aria-invalid");
  });

  it("leaves out a notice's detail when its values are missing, never showing braces", () => {
    const { html } = renderFlowScreen({
      ...screens["challenge"]!,
      notice: { code: "verification.throttled", tone: "error" },
    } as PageScreen);
    expect(html).toContain(`role="alert">${escapeText(en["notice.verification.throttled"])}</div>`);
    expect(html).not.toMatch(/\{[a-zA-Z_]+\}/);
  });

  it("hides the WebAuthn forms until the script runs, and explains why without it", () => {
    for (const name of ["challenge", "enroll_webauthn"]) {
      const { html } = renderFlowScreen(screens[name]!);
      const form = tags(html, "form").find((t) => t.includes("data-webauthn-form"));
      expect(form).toContain(" hidden");
      expect(html).toContain('<input type="hidden" name="ceremony" value="">');
      expect(html).toContain('<input type="hidden" name="response" value="">');
      expect(html).toContain(
        `<noscript><p class="notice notice-info">${en["page.needs_javascript"]}</p></noscript>`,
      );
      expect(html).toContain(
        `<script src="${flowAssetUrl("simplewebauthn-browser.js")}" defer></script>`,
      );
      expect(html).toContain(`<script src="${flowAssetUrl("flow.js")}" defer></script>`);
    }
    expect(renderFlowScreen(screens["enroll_webauthn"]!).html).toContain(
      'data-webauthn="registration"',
    );
    expect(renderFlowScreen(screens["exemption"]!).html).not.toContain("<script");
  });

  it("shows the QR code, the key for typing, and a confirm form on TOTP enrolment", () => {
    const { html } = renderFlowScreen(screens["enroll_totp"]!);
    expect(html).toContain('<code aria-labelledby="totp-secret-label">JBSW Y3DP EHPK 3PXP');
    expect(html).toContain('<input type="hidden" name="action" value="confirm_totp">');
    expect(html).toContain('<input type="hidden" name="authenticator" value="auth_3">');
    expect(html).toContain('href="otpauth://totp/Acme%20Corporation:alice?secret=');
  });

  it("explains a denial: the reasons, what to do, and the decision as a reference", () => {
    const { html } = renderFlowScreen(screens["denied"]!);
    expect(html).toContain(
      `<li>${escapeText(reason("requirement.unmet.phishing_resistance").message)}</li>`,
    );
    expect(html).toContain(`<li>${escapeText(reason("challenge.unavailable").message)}</li>`);
    expect(html).toContain(escapeText(en["denied.contact"]));
    expect(html).toContain("Reference: <code>dec_01JB8Z3Q4R5S6T7U8V9W</code>");
    expect(html).toContain(
      '<a class="button secondary" href="https://app.example.com/callback?error=access_denied">',
    );
  });

  it("says an exemption is in force, its category and its end, for people and machines", () => {
    const { html } = renderFlowScreen(screens["exemption"]!);
    expect(html).toContain(`<h1>${en["exemption.heading"]}</h1>`);
    expect(html).toContain(`<dd>${en["category.break_glass"]}</dd>`);
    expect(html).toContain(
      '<dd><time datetime="2026-12-06T18:00:00.000Z">December 6, 2026 at 6:00 PM UTC</time></dd>',
    );
    expect(html).toContain(escapeText(en["exemption.break_glass"]));
    expect(html).toContain('<input type="hidden" name="action" value="continue">');
  });

  it("nudges before enforcement: the start date, set-up options, and Continue", () => {
    const { html } = renderFlowScreen(screens["report_only"]!);
    expect(html).toContain(
      'From <time datetime="2027-01-15T00:00:00.000Z">January 15, 2027 at 12:00 AM UTC</time>, Acme Corporation will ask',
    );
    expect(html).toContain(`<h2 id="setup-heading">${en["report_only.setup"]}</h2>`);
    expect(html).toContain('<input type="hidden" name="action" value="enroll_webauthn">');
    expect(html).toContain('<input type="hidden" name="action" value="enroll_totp">');
    expect(html).toContain('<input type="hidden" name="action" value="continue">');
    const ready = renderFlowScreen({ ...screens["report_only"]!, options: [] } as PageScreen).html;
    expect(ready).toContain(escapeText(en["report_only.ready"]));
    expect(ready).not.toContain("enroll_");
  });
});

describe("the message catalogue", () => {
  it("has a text for every notice and failure code", () => {
    const notices: readonly FlowMessageCode[] = Object.keys(NOTICE_MESSAGES) as FlowMessageCode[];
    expect(notices).toHaveLength(13);
    for (const code of notices) expect(en[NOTICE_MESSAGES[code].text]).toMatch(/\S/);
    const failures = Object.keys(FAILURE_STATUSES) as (keyof typeof FAILURE_STATUSES)[];
    expect(failures).toHaveLength(10);
    for (const code of failures) {
      for (const key of FAILURE_MESSAGES[code]) expect(en[key]).toMatch(/\S/);
    }
  });

  it("fills placeholders and falls back to English", () => {
    expect(message("en", "challenge.lead", { tenant: "Acme" })).toBe(
      "Acme asks for a second step to finish signing in.",
    );
    expect(message("xx", "exemption.continue")).toBe("Continue");
    addCatalogue("de-test", { "exemption.continue": "Weiter" });
    expect(message("de-test", "exemption.continue")).toBe("Weiter");
    expect(message("de-test", "denied.why")).toBe("Why");
  });

  it("renders in the locale asked for, and in English for a locale without a catalogue", () => {
    addCatalogue("fr-test", { "exemption.heading": "Une exemption s’applique" });
    expect(renderFlowScreen(screens["exemption"]!, { locale: "fr-test" }).html).toContain(
      '<html lang="fr-test">',
    );
    const unknown = renderFlowScreen(screens["exemption"]!, { locale: "tlh" }).html;
    expect(unknown).toContain('<html lang="en">');
    expect(unknown).toContain(`<h1>${en["exemption.heading"]}</h1>`);
  });

  it("lays out a right-to-left language from the right, and says so in dir", () => {
    addCatalogue("ar", { "exemption.continue": "متابعة" });
    addCatalogue("he", { "exemption.continue": "המשך" });
    addCatalogue("az-arab", { "exemption.continue": "Davam" });
    expect(renderFlowScreen(screens["exemption"]!, { locale: "ar" }).html).toContain(
      '<html lang="ar" dir="rtl">',
    );
    expect(renderFlowScreen(screens["exemption"]!, { locale: "he" }).html).toContain(
      '<html lang="he" dir="rtl">',
    );
    expect(renderFlowScreen(screens["exemption"]!, { locale: "az-arab" }).html).toContain(
      '<html lang="az-arab" dir="rtl">',
    );
    expect(renderFlowScreen(screens["exemption"]!, { locale: "fr-test" }).html).not.toContain(
      "dir=",
    );
  });

  it("lists the methods already done as the page's language lists things", () => {
    addCatalogue("ja", { "exemption.continue": "続行" });
    const screen = { ...screens["challenge"]!, proven: ["password", "totp"] } as PageScreen;
    expect(renderFlowScreen(screen).html).toContain(
      "Already done in this sign-in: password and authenticator app.",
    );
    expect(renderFlowScreen(screen, { locale: "ja" }).html).toContain(
      "Already done in this sign-in: password、authenticator app.",
    );
  });

  it("drops a placeholder of a translation that the page has no value for, even one named like Object's own", () => {
    addCatalogue("nl", {
      "report_only.lead": "Vanaf {date} vraagt {tenant} meer{constructor}{toString}.",
    });
    const { html } = renderFlowScreen(screens["report_only"]!, { locale: "nl" });
    expect(html).toMatch(/Vanaf <time [^>]+>[^<]+<\/time> vraagt Acme Corporation meer\./);
    expect(html).not.toContain("function");
  });

  // A pseudo-locale wraps every message in ⟦…⟧: any visible text left outside the brackets was
  // written in a template, where no translator can reach it.
  it.each(samples)("leaves no template text outside the catalogue on %s", (_, screen) => {
    addCatalogue(
      "qps",
      Object.fromEntries(Object.entries(en).map(([key, text]) => [key, `⟦${text}⟧`])),
    );
    const { html } = renderFlowScreen(screen, { locale: "qps" });
    const data = ["Acme Corporation", "Alice Martin", "Phone", "Tablet"];
    let text = html
      .replace(/<(script|time|code|svg)\b[\s\S]*?<\/\1>/g, " ")
      .replace(/<[^>]+>/g, " ")
      .replace(/&#39;/g, "'")
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&");
    // Messages nest (a heading inside the title): remove the innermost first.
    for (let before = ""; before !== text;) {
      before = text;
      text = text.replace(/⟦[^⟦⟧]*⟧/g, " ");
    }
    for (const value of data) text = text.replaceAll(value, " ");
    expect(text.trim()).toBe("");
    for (const tag of html.match(/<[^>]+>/g) ?? []) {
      for (const [, name, value] of tag.matchAll(
        /\s(alt|aria-label|title|placeholder|data-msg-[a-z-]+)="([^"]*)"/g,
      )) {
        expect(value, `${name} in ${tag}`).toMatch(/^⟦[\s\S]*⟧$/);
      }
    }
  });
});

function escapeText(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/'/g, "&#39;")
    .replace(/"/g, "&quot;");
}
