/**
 * The slice of `oidc-provider` 9 (which ships no types) that the demo IdP uses, typed here so
 * that its code stays type-checked. The package is a development dependency, loaded only by
 * `serve --demo` (see {@link loadOidcProvider}).
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
  try {
    const loaded = (await import(specifier)) as { default: ProviderConstructor };
    return loaded.default;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new DemoDependencyMissing();
    }
    throw error;
  }
}
