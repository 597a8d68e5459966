/**
 * The slice of `oidc-provider` 9 (which ships no types) that the demo IdP uses, typed here so
 * that its code stays type-checked; the tests' OIDC peer uses the same slice. The package is a
 * development dependency, loaded only by `serve --demo` (see {@link loadOidcProvider}).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export interface InteractionDetails {
  readonly uid: string;
  readonly prompt: {
    readonly name: string;
    readonly reasons: readonly string[];
    readonly details: Readonly<Record<string, unknown>>;
  };
  readonly params: Readonly<Record<string, unknown>>;
  readonly session?: { readonly accountId?: string };
}

export type InteractionResult =
  | {
      readonly login: {
        readonly accountId: string;
        readonly acr?: string;
        readonly amr?: readonly string[];
        readonly ts?: number;
        readonly remember?: boolean;
      };
    }
  | { readonly consent: { readonly grantId: string } }
  | { readonly error: string; readonly error_description?: string };

export interface Grant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: readonly string[]): void;
  save(): Promise<string>;
}

export interface Provider {
  readonly Grant: new (properties: { accountId: string; clientId: string }) => Grant;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: InteractionResult,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
}

export type ProviderConstructor = new (
  issuer: string,
  configuration: Record<string, unknown>,
) => Provider;

/** What an interaction-policy check reads of the authorization request being served. */
export interface PolicyContext {
  readonly oidc: {
    /** The claims asked for; `acr_values` land in `id_token.acr.values` too. */
    readonly claims?: {
      readonly id_token?: { readonly acr?: { readonly values?: readonly string[] } };
    };
    /** The `acr` of the IdP's live session. */
    readonly acr?: string;
    /** Set while the login just submitted in this interaction is being applied. */
    readonly result?: { readonly login?: unknown };
  };
}

/** A check of the interaction policy: `true` asks the prompt, `false` lets the request through. */
export type PolicyCheck = object;

/** The prompts of the policy, by name; a prompt's checks can be added to and removed by reason. */
export interface PolicyPrompts {
  get(
    name: string,
  ):
    | { readonly checks: { add(check: PolicyCheck): void; remove(reason: string): void } }
    | undefined;
}

/** `oidc-provider`'s `interactionPolicy` export. */
export interface InteractionPolicy {
  base(): PolicyPrompts;
  readonly Check: new (
    reason: string,
    description: string,
    check: (ctx: PolicyContext) => boolean,
  ) => PolicyCheck;
}

/** `oidc-provider` is not installed: `npm install --omit=dev` leaves it out. */
export class DemoDependencyMissing extends Error {
  constructor() {
    super(
      "the demo IdP needs the development dependencies (oidc-provider): run `npm install` without --omit=dev, or serve without --demo",
    );
    this.name = "DemoDependencyMissing";
  }
}

// A specifier held in a variable: the compiler leaves the import alone (the package ships no
// types) and nothing reaches for the package unless the demo starts.
const OIDC_PROVIDER = "oidc-provider";

/**
 * Loads `oidc-provider`, or throws {@link DemoDependencyMissing} when it is not installed.
 * `specifier` is for tests, which name a package that is not there.
 */
export async function loadOidcProvider(specifier = OIDC_PROVIDER): Promise<ProviderConstructor> {
  return (await loadOidcProviderModule(specifier)).Provider;
}

/** Loads `oidc-provider`'s provider class and its interaction policy, as {@link loadOidcProvider}. */
export async function loadOidcProviderModule(
  specifier = OIDC_PROVIDER,
): Promise<{ Provider: ProviderConstructor; interactionPolicy: InteractionPolicy }> {
  try {
    const loaded = (await import(specifier)) as {
      default: ProviderConstructor;
      interactionPolicy: InteractionPolicy;
    };
    return { Provider: loaded.default, interactionPolicy: loaded.interactionPolicy };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new DemoDependencyMissing();
    }
    throw error;
  }
}
