import type { FlowAction } from "../app/application.js";
import type {
  FlowFailureCode,
  FlowFrame,
  FlowMessageCode,
  FlowNotice,
  FlowOption,
  FlowScreen,
} from "../app/flows/flow-screens.js";
import { flowAssetUrl } from "./assets.js";
import { REASONS, type Reason } from "../core/reasons.js";
import { contentSecurityPolicy, originOf } from "./content-security-policy.js";
import { markup, SafeHtml, trustedSvg } from "./html.js";
import {
  canFill,
  DEFAULT_LOCALE,
  hasTranslation,
  isMessageKey,
  messageTemplate,
  resolveLocale,
  type MessageKey,
} from "./messages/index.js";

/**
 * Renders a hosted flow screen as a complete, accessible HTML page with its status and Content
 * Security Policy. The application decides what a page says ({@link FlowScreen}); this module
 * decides only how: every word comes from the message catalogue, every value is escaped, every
 * form posts back to the flow with its CSRF token, and nothing runs inline.
 *
 * @module
 */

/**
 * A failure of the HTTP layer itself: the form it received could not be read, or the page was
 * fetched as something other than a page (`request.not_a_navigation`, the federation routes'
 * code for the same refusal).
 */
export type PageFailureCode = FlowFailureCode | "flow.bad_request" | "request.not_a_navigation";

type FailedScreen = Extract<FlowScreen, { kind: "failed" }>;

/** Every screen that renders as a page: all but `redirect`, and failures of the HTTP layer. */
export type PageScreen =
  | Exclude<FlowScreen, { kind: "redirect" }>
  | (Omit<FailedScreen, "code"> & { readonly code: PageFailureCode });

/** A page ready to send. */
export interface RenderedPage {
  readonly status: number;
  readonly html: string;
  readonly contentSecurityPolicy: string;
}

/** The HTTP status of each failure page. */
export const FAILURE_STATUSES = {
  "flow.not_found": 404,
  "flow.expired": 410,
  "flow.used": 410,
  "flow.other_browser": 403,
  "flow.csrf": 403,
  "flow.return_to_not_allowed": 400,
  "flow.unavailable": 503,
  "flow.cannot_complete": 500,
  "flow.bad_request": 400,
  "request.not_a_navigation": 400,
} as const satisfies Record<PageFailureCode, number>;

/** The catalogue text of each notice; `detail` adds the notice's values when it has them. */
export const NOTICE_MESSAGES = {
  "totp.invalid_code": { text: "notice.totp.invalid_code" },
  "recovery_code.invalid": { text: "notice.recovery_code.invalid" },
  "recovery_codes.running_low": {
    text: "notice.recovery_codes.running_low",
    detail: "notice.recovery_codes.running_low.detail",
  },
  "recovery_codes.exhausted": { text: "notice.recovery_codes.exhausted" },
  "webauthn.failed": { text: "notice.webauthn.failed" },
  "verification.throttled": {
    text: "notice.verification.throttled",
    detail: "notice.verification.throttled.detail",
  },
  "verification.locked": { text: "notice.verification.locked" },
  "idp.mfa_unavailable": { text: "notice.idp.mfa_unavailable" },
  "idp.rejected": { text: "notice.idp.rejected" },
  "idp.insufficient": { text: "notice.idp.insufficient" },
  "enrolment.confirm_failed": { text: "notice.enrolment.confirm_failed" },
  "enrolment.expired": { text: "notice.enrolment.expired" },
  "enrolment.not_allowed": { text: "notice.enrolment.not_allowed" },
} as const satisfies Record<FlowMessageCode, { text: MessageKey; detail?: MessageKey }>;

/** The catalogue title and explanation of each failure. */
export const FAILURE_MESSAGES = {
  "flow.not_found": ["failure.flow.not_found.title", "failure.flow.not_found.body"],
  "flow.expired": ["failure.flow.expired.title", "failure.flow.expired.body"],
  "flow.used": ["failure.flow.used.title", "failure.flow.used.body"],
  "flow.other_browser": ["failure.flow.other_browser.title", "failure.flow.other_browser.body"],
  "flow.csrf": ["failure.flow.csrf.title", "failure.flow.csrf.body"],
  "flow.return_to_not_allowed": [
    "failure.flow.return_to_not_allowed.title",
    "failure.flow.return_to_not_allowed.body",
  ],
  "flow.unavailable": ["failure.flow.unavailable.title", "failure.flow.unavailable.body"],
  "flow.cannot_complete": [
    "failure.flow.cannot_complete.title",
    "failure.flow.cannot_complete.body",
  ],
  "flow.bad_request": ["failure.flow.bad_request.title", "failure.flow.bad_request.body"],
  "request.not_a_navigation": [
    "failure.request.not_a_navigation.title",
    "failure.request.not_a_navigation.body",
  ],
} as const satisfies Record<PageFailureCode, readonly [MessageKey, MessageKey]>;

/** The failures that starting the sign-in again would not get past. */
const NO_START_AGAIN: ReadonlySet<PageFailureCode> = new Set([
  "flow.unavailable",
  "flow.csrf",
  "flow.cannot_complete",
]);

/**
 * Notices about the code the user just typed, by the form whose code field it concerns: that
 * field, and only that one, is marked invalid. A challenge offers an authenticator app and a
 * recovery code side by side; a wrong TOTP code says nothing about the recovery code field.
 */
const CODE_NOTICES: ReadonlyMap<FlowMessageCode, FlowAction["kind"]> = new Map([
  ["totp.invalid_code", "verify_totp"],
  ["recovery_code.invalid", "verify_recovery_code"],
  ["enrolment.confirm_failed", "confirm_totp"],
]);

/**
 * The pages' referrer policy. Not `no-referrer`: under it a browser sends `Origin: null` with a
 * form post or a fetch (the Fetch standard's "append a request `Origin` header" step), and the
 * routes refuse posts from any origin but their own. `same-origin` sends the origin to the flow and nothing, not
 * even the flow's URL, to the IdP or the platform.
 */
export const REFERRER_POLICY = "same-origin";

/** The id of the alert region: notices, and the WebAuthn script's errors. */
const ALERT_ID = "flow-alert";

/** Renders `screen` in `options.locale` (English by default). */
export function renderFlowScreen(
  screen: PageScreen,
  options: { readonly locale?: string } = {},
): RenderedPage {
  // A locale without a catalogue renders in English, and says so in `lang`.
  const r = new Renderer(resolveLocale(options.locale));
  switch (screen.kind) {
    case "challenge":
      return r.challenge(screen);
    case "enroll_totp":
      return r.enrollTotp(screen);
    case "enroll_webauthn":
      return r.enrollWebauthn(screen);
    case "exemption":
      return r.exemption(screen);
    case "report_only":
      return r.reportOnly(screen);
    case "denied":
      return r.denied(screen);
    case "failed":
      return r.failed(screen);
  }
}

type Tenant = FlowFrame["tenant"];

interface PageParts {
  readonly heading: Phrase;
  readonly tenant?: Tenant | undefined;
  readonly frame?: FlowFrame;
  readonly status: number;
  readonly body: SafeHtml;
  /** The page runs WebAuthn ceremonies: load the scripts. */
  readonly webauthn?: boolean;
}

/**
 * Text of a page in one language: the page's own, or English where the locale's catalogue lacks
 * the key (`english`). `html` marks the parts of it in the other language; `text` is its words
 * alone, for an attribute or the title.
 */
class Phrase {
  constructor(
    readonly html: SafeHtml,
    readonly text: string,
    readonly english: boolean,
  ) {}
}

/** What a message's placeholder may be filled with: text, a phrase, or language-free markup. */
type PhraseValue = string | number | Phrase | SafeHtml;

const PLACEHOLDER = /\{([a-zA-Z_]+)\}/;

/** Whether text has words of a language, not only placeholders, punctuation and spaces. */
const hasWords = (text: string): boolean => /\p{L}/u.test(text);

class Renderer {
  /** The page is in English: nothing on it can fall back to another language. */
  readonly english: boolean;
  readonly rtl: boolean;

  constructor(readonly locale: string) {
    this.english = locale.split("-")[0] === DEFAULT_LOCALE;
    this.rtl = isRightToLeft(locale);
  }

  /**
   * The message `key` with its `{placeholders}` filled from `values` (own values only, so a
   * translation's `{constructor}` prints no function; one without a value is left out, never shown
   * in braces). English where the catalogue lacks the key; a message of placeholders and
   * punctuation only (`{heading} · {tenant}`) has no language of its own and takes its phrases'.
   */
  phrase(key: MessageKey, values: Readonly<Record<string, PhraseValue>> = {}): Phrase {
    const parts = messageTemplate(this.locale, key).split(PLACEHOLDER);
    const value = (name: string): PhraseValue =>
      (Object.hasOwn(values, name) ? values[name] : undefined) ?? "";
    const filled = parts.map((part, i) => (i % 2 === 0 ? part : value(part)));
    const phrases = filled.filter((v): v is Phrase => v instanceof Phrase);
    const english = hasWords(parts.filter((_, i) => i % 2 === 0).join(""))
      ? !this.english && !hasTranslation(this.locale, key)
      : phrases.length > 0 && phrases.every((p) => p.english);
    const html = markup`${filled.map((v) => (v instanceof Phrase ? this.within(v, english) : v))}`;
    // Markup values (a reference in <code>) are for element content only, never an attribute.
    const text = filled
      .map((v) => (v instanceof Phrase ? v.text : v instanceof SafeHtml ? "" : String(v)))
      .join("");
    return new Phrase(html, text, english);
  }

  /** The message `key` as element content of the page, its fallback marked (see {@link phrase}). */
  t(key: MessageKey, values?: Readonly<Record<string, PhraseValue>>): SafeHtml {
    return this.within(this.phrase(key, values), false);
  }

  /**
   * `phrase` inside text in English (`english`) or in the page's language: wrapped in an element
   * that names its language where the two differ (WCAG 2.x SC 3.1.2), isolated in its own
   * direction on a right-to-left page.
   */
  private within(phrase: Phrase, english: boolean): SafeHtml {
    if (phrase.english === english) return phrase.html;
    return phrase.english
      ? markup`<span lang="${DEFAULT_LOCALE}"${this.rtl && markup` dir="ltr"`}>${phrase.html}</span>`
      : markup`<span lang="${this.locale}"${this.rtl && markup` dir="rtl"`}>${phrase.html}</span>`;
  }

  /** The `lang` (and `dir`) of an element whose text is `phrase` in an attribute. */
  private langOf(phrase: Phrase): SafeHtml | false {
    return phrase.english && markup` lang="${DEFAULT_LOCALE}"${this.rtl && markup` dir="ltr"`}`;
  }

  challenge(screen: Extract<PageScreen, { kind: "challenge" }>): RenderedPage {
    const { frame, options, notice, proven } = screen;
    const several = options.length > 1;
    // Joined as the locale joins a list ("a, b and c", "a、b", "a وb"): a comma written here
    // would be English in every language.
    const methods = this.list(proven.map((p) => this.methodName(p)));
    const body = markup`
<p class="lead">${this.t("challenge.lead", { tenant: frame.tenant.name })}</p>
${frame.stepUp && markup`<p>${this.t("challenge.step_up")}</p>`}
${proven.length > 0 && markup`<p class="muted">${this.t("challenge.proven", { methods })}</p>`}
${this.notices(notice)}
${several && markup`<p>${this.t("challenge.choose")}</p>`}
${options.map((option, i) => this.option(frame, option, i, several ? 2 : undefined, notice))}`;
    return this.page({
      heading: this.phrase("challenge.heading"),
      frame,
      status: 200,
      body,
      webauthn: options.some((o) => o.kind === "verify_webauthn"),
    });
  }

  enrollTotp(screen: Extract<PageScreen, { kind: "enroll_totp" }>): RenderedPage {
    const { frame, notice } = screen;
    const svg = trustedSvg(screen.qrSvg);
    const grouped = screen.secret.replace(/(.{4})(?=.)/g, "$1 ");
    const qrLabel = this.phrase("enroll_totp.qr_label");
    const qr =
      svg !== undefined &&
      markup`<div class="qr" role="img" aria-label="${qrLabel.text}"${this.langOf(qrLabel)}>${svg}</div>`;
    const open =
      /^otpauth:\/\//.test(screen.uri) &&
      markup`<p class="small"><a href="${screen.uri}">${this.t("enroll_totp.open_app")}</a></p>`;
    const confirm = this.form(
      frame,
      "confirm_totp",
      markup`
<input type="hidden" name="authenticator" value="${screen.authenticator}">
${this.codeField("enroll-code", "confirm_totp", "enroll_totp.code", "numeric", notice)}
<button type="submit" class="button primary">${this.t("enroll_totp.submit")}</button>`,
    );
    const body = markup`
<p class="lead">${this.t("enroll_totp.lead", { tenant: frame.tenant.name })}</p>
${this.notices(notice)}
<ol class="steps">
<li><p>${this.t("enroll_totp.scan")}</p>
${qr}
${open}</li>
<li><p id="totp-secret-label">${this.t("enroll_totp.type")}</p>
<p class="secret"><code aria-labelledby="totp-secret-label">${grouped}</code></p></li>
<li><p>${this.t("enroll_totp.confirm")}</p>
${confirm}</li>
</ol>`;
    return this.page({ heading: this.phrase("enroll_totp.heading"), frame, status: 200, body });
  }

  enrollWebauthn(screen: Extract<PageScreen, { kind: "enroll_webauthn" }>): RenderedPage {
    const { frame, notice, deviceBound } = screen;
    const prefix = deviceBound ? "enroll_webauthn.device_bound" : "enroll_webauthn";
    const describedBy = ["passkey-name-hint", notice?.tone === "error" ? ALERT_ID : undefined]
      .filter(Boolean)
      .join(" ");
    const name = markup`
<div class="field">
<label for="passkey-name">${this.t("enroll_webauthn.name")}</label>
<input id="passkey-name" name="name" type="text" maxlength="64" autocomplete="off" aria-describedby="${describedBy}">
<p class="hint" id="passkey-name-hint">${this.t("enroll_webauthn.name_hint")}</p>
</div>`;
    const body = markup`
<p class="lead">${this.t(`${prefix}.lead`)}</p>
${this.notices(notice)}
${this.webauthnForm(frame, "register_webauthn", "registration", name, this.t(`${prefix}.submit`))}`;
    return this.page({
      heading: this.phrase(`${prefix}.heading`),
      frame,
      status: 200,
      body,
      webauthn: true,
    });
  }

  exemption(screen: Extract<PageScreen, { kind: "exemption" }>): RenderedPage {
    const { frame } = screen;
    const body = markup`
<p class="lead">${this.t("exemption.lead", { tenant: frame.tenant.name })}</p>
<dl class="facts">
<div><dt>${this.t("exemption.category")}</dt><dd>${this.t(`category.${screen.category}`)}</dd></div>
<div><dt>${this.t("exemption.ends")}</dt><dd>${this.within(this.time(screen.expiresAt), false)}</dd></div>
</dl>
${screen.breakGlass && markup`<p class="notice notice-warning">${this.t("exemption.break_glass")}</p>`}
<p class="muted">${this.t("exemption.after")}</p>
${this.form(frame, "continue", this.button("primary", this.t("exemption.continue")))}`;
    return this.page({ heading: this.phrase("exemption.heading"), frame, status: 200, body });
  }

  reportOnly(screen: Extract<PageScreen, { kind: "report_only" }>): RenderedPage {
    const { frame, options } = screen;
    const ready = options.length === 0;
    const lead = this.t("report_only.lead", {
      date: this.time(screen.enforcementStartsAt),
      tenant: frame.tenant.name,
    });
    const setup = ready
      ? markup`<p class="notice notice-info">${this.t("report_only.ready")}</p>`
      : markup`
<section class="setup" aria-labelledby="setup-heading">
<h2 id="setup-heading">${this.t("report_only.setup")}</h2>
<p>${this.t("report_only.setup_intro")}</p>
${options.map((option, i) => this.option(frame, option, i, options.length > 1 ? 3 : undefined))}
</section>`;
    const go = ready
      ? this.button("primary", this.t("report_only.continue_ready"))
      : this.button("secondary", this.t("report_only.continue"));
    const body = markup`
<p class="lead">${lead}</p>
${setup}
${this.form(frame, "continue", go, { cls: "continue" })}`;
    return this.page({
      heading: this.phrase("report_only.heading"),
      frame,
      status: 200,
      body,
      webauthn: options.some((o) => o.kind === "verify_webauthn"),
    });
  }

  denied(screen: Extract<PageScreen, { kind: "denied" }>): RenderedPage {
    const { frame } = screen;
    // Once each: a decision may give the same reason for two rules.
    const reasons = [...new Map(screen.reasons.map((r) => [r.message, r])).values()];
    const why =
      reasons.length > 0 &&
      markup`
<h2>${this.t("denied.why")}</h2>
<ul class="reasons">${reasons.map((r) => markup`<li>${this.reason(r)}</li>`)}</ul>`;
    const back =
      screen.returnTo !== undefined &&
      originOf(screen.returnTo) !== undefined &&
      markup`<p><a class="button secondary" href="${screen.returnTo}">${this.t("denied.return")}</a></p>`;
    // The principal's IdP was no way in only because its binding went stale: say what fixes it.
    const stale = screen.staleBinding;
    const todo =
      stale === undefined
        ? markup`<p>${this.t("denied.contact")}</p>`
        : markup`<p>${this.t("denied.stale_binding", { tenant: frame.tenant.name, idp: stale.name })}</p>
<p class="reference">${this.t("denied.reason", { reason: markup`<code>${stale.reason}</code>` })}</p>`;
    const body = markup`
<p class="lead">${this.t("denied.lead", { tenant: frame.tenant.name })}</p>
${why}
<h2>${this.t("denied.what_to_do")}</h2>
${todo}
<p class="reference">${this.t("denied.reference", { reference: markup`<code>${screen.decision}</code>` })}</p>
${back}`;
    return this.page({ heading: this.phrase("denied.heading"), frame, status: 403, body });
  }

  failed(screen: Extract<PageScreen, { kind: "failed" }>): RenderedPage {
    const [title, explanation] = FAILURE_MESSAGES[screen.code];
    // Starting again does not help while the service is down, nor after a forged post, nor
    // while a record it needs stays altered.
    const startAgain = !NO_START_AGAIN.has(screen.code);
    const body = markup`
<p class="lead">${this.t(explanation)}</p>
${startAgain && markup`<p>${this.t("failure.start_again")}</p>`}
<p class="reference">${this.t("failure.reference", { reference: markup`<code>${screen.code}</code>` })}</p>`;
    return this.page({
      heading: this.phrase(title),
      tenant: screen.tenant,
      status: FAILURE_STATUSES[screen.code],
      body,
    });
  }

  /**
   * A decision's reason in the page's language, by its code, with the values its message was
   * filled with; the engine's text among them (the field an input error names) is English. A
   * message that is not its code's text filled (a code this version does not know) is shown as
   * it is, in English.
   */
  private reason(reason: Reason): SafeHtml {
    const key = `reason.${reason.code}`;
    const values = valuesOfReason(reason);
    if (!isMessageKey(key) || values === undefined) {
      return this.within(
        new Phrase(markup`${reason.message}`, reason.message, !this.english),
        false,
      );
    }
    const phrases = Object.fromEntries(
      Object.entries(values).map(([name, value]) => [
        name,
        LANGUAGE_FREE_REASON_VALUES.has(name)
          ? value
          : new Phrase(markup`${value}`, value, !this.english),
      ]),
    );
    return this.t(key, phrases);
  }

  /** One way to meet the requirement; `level` is its heading's, when it has one. */
  private option(
    frame: FlowFrame,
    option: FlowOption,
    index: number,
    level: 2 | 3 | undefined,
    notice?: FlowNotice,
  ): SafeHtml {
    const id = `option-${index + 1}`;
    // Options come best first: the first is the primary action, the others quieter.
    const style = index === 0 ? "primary" : "secondary";
    const { heading, intro, content } = this.optionParts(frame, option, id, style, notice);
    if (level === undefined) {
      return markup`
<section class="option option-single">
<p>${intro}</p>
${content}
</section>`;
    }
    const title =
      level === 2
        ? markup`<h2 id="${id}-heading">${heading}</h2>`
        : markup`<h3 id="${id}-heading">${heading}</h3>`;
    return markup`
<section class="option" aria-labelledby="${id}-heading">
${title}
<p class="muted">${intro}</p>
${content}
</section>`;
  }

  private optionParts(
    frame: FlowFrame,
    option: FlowOption,
    id: string,
    style: "primary" | "secondary",
    notice: FlowNotice | undefined,
  ): { heading: SafeHtml; intro: SafeHtml; content: SafeHtml } {
    switch (option.kind) {
      case "verify_totp": {
        const [only] = option.authenticators;
        const choose =
          option.authenticators.length === 1 && only !== undefined
            ? markup`<input type="hidden" name="authenticator" value="${only.id}">`
            : markup`
<div class="field">
<label for="${id}-authenticator">${this.t("option.verify_totp.authenticator")}</label>
<select id="${id}-authenticator" name="authenticator">${option.authenticators.map(
                (a) => markup`<option value="${a.id}">${a.name}</option>`,
              )}</select>
</div>`;
        const code = this.codeField(
          `${id}-code`,
          "verify_totp",
          "option.verify_totp.code",
          "numeric",
          notice,
        );
        return {
          heading: this.t("option.verify_totp.heading"),
          intro: this.t("option.verify_totp.intro"),
          content: this.form(
            frame,
            "verify_totp",
            markup`${choose}${code}${this.button(style, this.t("option.verify_totp.submit"))}`,
          ),
        };
      }
      case "verify_recovery_code": {
        const code = this.codeField(
          `${id}-code`,
          "verify_recovery_code",
          "option.verify_recovery_code.code",
          "text",
          notice,
        );
        const submit = this.button(style, this.t("option.verify_recovery_code.submit"));
        return {
          heading: this.t("option.verify_recovery_code.heading"),
          intro: this.t("option.verify_recovery_code.intro"),
          content: this.form(frame, "verify_recovery_code", markup`${code}${submit}`),
        };
      }
      case "verify_webauthn":
        return {
          heading: this.t("option.verify_webauthn.heading"),
          intro: this.t("option.verify_webauthn.intro"),
          content: this.webauthnForm(
            frame,
            "verify_webauthn",
            "authentication",
            markup``,
            this.t("option.verify_webauthn.submit"),
            style,
          ),
        };
      case "enroll_totp":
        return {
          heading: this.t("option.enroll_totp.heading"),
          intro: this.t("option.enroll_totp.intro"),
          content: this.form(
            frame,
            "enroll_totp",
            this.button(style, this.t("option.enroll_totp.submit")),
          ),
        };
      case "enroll_webauthn": {
        const prefix = option.deviceBound
          ? "option.enroll_webauthn.device_bound"
          : "option.enroll_webauthn";
        return {
          heading: this.t(`${prefix}.heading`),
          intro: this.t(`${prefix}.intro`),
          content: this.form(
            frame,
            "enroll_webauthn",
            this.button(style, this.t(`${prefix}.submit`)),
          ),
        };
      }
      case "idp":
        return {
          heading: this.t("option.idp.heading", { idp: option.name }),
          intro: this.t("option.idp.intro"),
          content: this.form(
            frame,
            "idp",
            markup`
<input type="hidden" name="idp" value="${option.idp}">
${this.button(style, this.t("option.idp.submit", { idp: option.name }))}`,
          ),
        };
      case "reauthenticate":
        // A link, not a form: the platform's sign-in page takes a GET.
        return {
          heading: this.t("option.reauthenticate.heading"),
          intro: this.t("option.reauthenticate.intro"),
          content:
            originOf(option.location) === undefined
              ? markup``
              : markup`<p><a class="button ${style}" href="${option.location}">${this.t(
                  "option.reauthenticate.submit",
                )}</a></p>`,
        };
    }
  }

  private button(style: "primary" | "secondary", label: SafeHtml): SafeHtml {
    return markup`
<button type="submit" class="button ${style}">${label}</button>`;
  }

  /**
   * A labelled one-time-code field of the form posting `action`, linked to the alert region when
   * an error about it (or about no field in particular) is shown.
   */
  private codeField(
    id: string,
    action: FlowAction["kind"],
    label: MessageKey,
    mode: "numeric" | "text",
    notice: FlowNotice | undefined,
  ): SafeHtml {
    const concerns = notice === undefined ? undefined : CODE_NOTICES.get(notice.code);
    const error = notice?.tone === "error" && (concerns === undefined || concerns === action);
    const invalid = error && concerns === action;
    const attributes = [
      mode === "text" && markup` autocapitalize="characters"`,
      error && markup` aria-describedby="${ALERT_ID}"`,
      invalid && markup` aria-invalid="true"`,
    ];
    return markup`
<div class="field">
<label for="${id}">${this.t(label)}</label>
<input id="${id}" name="code" type="text" inputmode="${mode}" autocomplete="one-time-code" spellcheck="false" required maxlength="64"${attributes}>
</div>`;
  }

  /** A form posting `action` back to the flow with the CSRF token. */
  private form(
    frame: FlowFrame,
    action: FlowAction["kind"],
    content: SafeHtml,
    options: { readonly cls?: string; readonly webauthn?: boolean } = {},
  ): SafeHtml {
    const attributes = [
      options.cls !== undefined && markup` class="${options.cls}"`,
      options.webauthn === true && markup` data-webauthn-form hidden`,
    ];
    return markup`
<form method="post" action="${flowPath(frame)}"${attributes}>
<input type="hidden" name="action" value="${action}">
<input type="hidden" name="csrf" value="${frame.csrfToken}">${content}
</form>`;
  }

  /**
   * A form whose button runs a WebAuthn ceremony (assets/flow.js) and posts its result. Hidden
   * until the script shows it: without JavaScript there is nothing it could do, and a
   * `<noscript>` says so.
   */
  private webauthnForm(
    frame: FlowFrame,
    action: "verify_webauthn" | "register_webauthn",
    purpose: "authentication" | "registration",
    fields: SafeHtml,
    label: SafeHtml,
    style: "primary" | "secondary" = "primary",
  ): SafeHtml {
    const content = markup`
<input type="hidden" name="ceremony" value="">
<input type="hidden" name="response" value="">${fields}
<button type="submit" class="button ${style}" data-webauthn="${purpose}">${label}</button>`;
    return markup`${this.form(frame, action, content, { cls: "webauthn", webauthn: true })}
<noscript><p class="notice notice-info">${this.t("page.needs_javascript")}</p></noscript>`;
  }

  /**
   * The alert region, always present so that the script can announce its errors there, with an
   * error notice in it; an informative notice is a status beside it.
   */
  private notices(notice: FlowNotice | undefined): SafeHtml {
    const error = notice?.tone === "error" ? this.noticeText(notice) : undefined;
    const info = notice?.tone === "info" ? this.noticeText(notice) : undefined;
    return markup`
<div id="${ALERT_ID}" class="notice notice-error" role="alert">${error}</div>
${info !== undefined && markup`<div class="notice notice-info" role="status">${info}</div>`}`;
  }

  private noticeText(notice: FlowNotice): SafeHtml {
    const entry: { text: MessageKey; detail?: MessageKey } = NOTICE_MESSAGES[notice.code];
    const text = this.t(entry.text);
    if (entry.detail === undefined || !canFill(entry.detail, notice.values)) return text;
    return markup`${text} ${this.t(entry.detail, notice.values)}`;
  }

  private methodName(method: string): Phrase {
    const key = `method.${method}`;
    return isMessageKey(key) ? this.phrase(key) : new Phrase(markup`${method}`, method, false);
  }

  /**
   * Phrases joined as the locale joins a list ("a, b and c", "a、b", "a وb"): a comma written here
   * would be English in every language. A list joined by punctuation only takes its items'
   * language, as {@link phrase} does.
   */
  private list(items: readonly Phrase[]): Phrase {
    const parts = new Intl.ListFormat(this.locale, { type: "conjunction" }).formatToParts(
      items.map((item) => item.text),
    );
    const literals = parts.filter((part) => part.type === "literal").map((part) => part.value);
    const english = hasWords(literals.join(""))
      ? false
      : items.length > 0 && items.every((item) => item.english);
    // The elements come in the order of the items.
    let next = 0;
    const html = parts.map((part) => {
      if (part.type === "literal") return part.value;
      const item = items[next++];
      return item === undefined ? part.value : this.within(item, english);
    });
    return new Phrase(markup`${html}`, parts.map((part) => part.value).join(""), english);
  }

  /** A date for people, with the ISO value for machines, in the page's language. */
  private time(iso: string): Phrase {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return new Phrase(markup`${iso}`, iso, false);
    const text = new Intl.DateTimeFormat(this.locale, {
      year: "numeric",
      month: "long",
      day: "numeric",
      hour: "numeric",
      minute: "2-digit",
      timeZone: "UTC",
      timeZoneName: "short",
    }).format(date);
    return new Phrase(markup`<time datetime="${date.toISOString()}">${text}</time>`, text, false);
  }

  private page(parts: PageParts): RenderedPage {
    const { frame } = parts;
    const tenant = parts.tenant ?? frame?.tenant;
    const logo =
      tenant?.logoUrl !== undefined && usableLogo(tenant.logoUrl) ? tenant.logoUrl : undefined;
    const title =
      tenant === undefined
        ? parts.heading
        : this.phrase("page.title", { heading: parts.heading, tenant: tenant.name });
    const scripts =
      parts.webauthn === true &&
      markup`
<script src="${flowAssetUrl("simplewebauthn-browser.js")}" defer></script>
<script src="${flowAssetUrl("flow.js")}" defer></script>`;
    // The script's words, from the catalogue like every other, and which of them are English
    // (the script marks the element it shows one in).
    const words = (name: string, key: MessageKey): SafeHtml => {
      const phrase = this.phrase(key);
      return markup`
  data-msg-${name}="${phrase.text}"${phrase.english && markup` data-lang-${name}="${DEFAULT_LOCALE}"`}`;
    };
    const data =
      frame !== undefined &&
      markup` data-flow-url="${flowPath(frame)}"${[
        words("cancelled", "page.webauthn_cancelled"),
        words("failed", "page.webauthn_failed"),
        words("start-failed", "page.webauthn_start_failed"),
        words("unsupported", "page.webauthn_unsupported"),
        words("busy", "page.webauthn_busy"),
      ]}`;
    const alt = this.phrase("page.logo_alt", { tenant: tenant?.name ?? "" });
    const image =
      logo !== undefined &&
      markup`<img class="logo" src="${logo}" alt="${alt.text}"${this.langOf(alt)}>`;
    const footer =
      frame !== undefined &&
      markup`
<footer class="meta">
<p>${this.t("page.signing_in_as", {
        principal: frame.principal.displayName ?? frame.principal.id,
      })}</p>
<p>${this.t("page.expires", { time: this.time(frame.expiresAt) })}</p>
</footer>`;
    const document = markup`<!doctype html>
<html lang="${this.locale}"${isRightToLeft(this.locale) && markup` dir="rtl"`}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="${REFERRER_POLICY}">
<title${this.langOf(title)}>${title.text}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${flowAssetUrl("flow.css")}">${scripts}
</head>
<body>
<main class="card"${data}>
<header class="brand">
${image}
<p class="tenant">${tenant?.name ?? this.t("page.service")}</p>
</header>
<h1>${this.within(parts.heading, false)}</h1>
${parts.body}
${footer}
</main>
</body>
</html>
`;
    return {
      status: parts.status,
      html: document.toString(),
      contentSecurityPolicy: contentSecurityPolicy({
        logoUrl: logo,
        formTargets: frame?.formTargets ?? [],
      }),
    };
  }
}

/** The flow's URL path, where every form posts. */
export function flowPath(frame: Pick<FlowFrame, "tenant" | "flow">): string {
  return `/t/${encodeURIComponent(frame.tenant.id)}/flows/${encodeURIComponent(frame.flow)}`;
}

/** Values of reasons that are in no language (an ISO date); the others are the engine's English. */
const LANGUAGE_FREE_REASON_VALUES: ReadonlySet<string> = new Set(["date"]);

/**
 * The values that `reason`'s message was filled with, read back from it against its code's
 * English text (a decision keeps the filled message, not the values), or undefined when the
 * message is not that text filled.
 */
function valuesOfReason(reason: Reason): Record<string, string> | undefined {
  if (!Object.hasOwn(REASONS, reason.code)) return undefined;
  const template: string = REASONS[reason.code];
  const names = [...template.matchAll(/\{([a-zA-Z_]+)\}/g)].map((m) => m[1] ?? "");
  const literal = template
    .split(/\{[a-zA-Z_]+\}/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const match = new RegExp(`^${literal.join("([\\s\\S]*)")}$`).exec(reason.message);
  if (match === null) return undefined;
  // A placeholder the engine had no value for stays in its message in braces: left out here.
  return Object.fromEntries(
    names
      .map((name, i) => [name, match[i + 1] ?? ""] as const)
      .filter(([name, value]) => value !== `{${name}}`),
  );
}

/** Scripts written from right to left (ISO 15924 codes, as `Intl.Locale` names them). */
const RIGHT_TO_LEFT_SCRIPTS: ReadonlySet<string> = new Set([
  "Adlm",
  "Arab",
  "Hebr",
  "Mand",
  "Mend",
  "Nkoo",
  "Rohg",
  "Samr",
  "Syrc",
  "Thaa",
  "Yezi",
]);

/**
 * Whether `locale` is written from right to left: its script, as given or the one its language is
 * most likely written in (`ar`, `he`, `fa`, `az-Arab`). A page in such a language without
 * `dir="rtl"` runs its sentences, lists and form fields the wrong way.
 */
function isRightToLeft(locale: string): boolean {
  try {
    return RIGHT_TO_LEFT_SCRIPTS.has(new Intl.Locale(locale).maximize().script ?? "");
  } catch {
    return false;
  }
}

/** A logo the page may show: an http(s) URL, or an inline raster or SVG image. */
function usableLogo(url: string): boolean {
  return originOf(url) !== undefined || /^data:image\/(png|jpeg|gif|webp|svg\+xml)[;,]/.test(url);
}
