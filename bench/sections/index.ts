import type { Section } from "../lib/section.js";
import { engineSection } from "./engine.js";
import { httpSection } from "./http.js";
import { oidcSection } from "./oidc.js";
import { samlSection } from "./saml.js";
import { scaleSection } from "./scale.js";
import { totpSection } from "./totp.js";
import { webauthnSection } from "./webauthn.js";

/**
 * Every benchmark section, in the order `npm run bench` runs them. To add one, write
 * `sections/NAME.ts` exporting a {@link Section} and list it here.
 */
export const SECTIONS: readonly Section[] = [
  engineSection,
  httpSection,
  scaleSection,
  oidcSection,
  samlSection,
  totpSection,
  webauthnSection,
];
