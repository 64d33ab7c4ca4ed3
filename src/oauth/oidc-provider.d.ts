// The part of oidc-provider (which ships no types) that plugboard uses, declared narrowly.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface ProviderClient {
    readonly clientId: string;
    readonly clientName?: string;
    readonly logoUri?: string;
    readonly redirectUris: readonly string[];
    readonly clientAuthMethod: string;
    grantTypeAllowed(type: string): boolean;
  }

  export interface InteractionDetails {
    readonly uid: string;
    readonly prompt: { readonly name: string; readonly reasons: readonly string[] };
    readonly params: Readonly<Record<string, unknown>>;
    readonly session?: { readonly accountId?: string };
    readonly grantId?: string;
  }

  export interface GrantInstance {
    addResourceScope(resource: string, scope: string): void;
    addOIDCScope(scope: string): void;
    rejectResourceScope(resource: string, scope: string): void;
    rejectOIDCScope(scope: string): void;
    save(ttl?: number): Promise<string>;
  }

  export interface OidcContext {
    readonly oidc: {
      readonly entities: Readonly<Record<string, { readonly grantId?: string } | undefined>>;
      readonly params?: Readonly<Record<string, unknown>>;
    };
    readonly get: (header: string) => string;
  }

  /** A request as a middleware (Provider#use) sees it around oidc-provider's own: `oidc` once a route took it. */
  export interface MiddlewareContext {
    status: number;
    body: unknown;
    get(header: string): string;
    readonly oidc?: {
      readonly route?: string;
      readonly params?: Readonly<Record<string, unknown>>;
      readonly client?: ProviderClient;
    };
  }

  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    proxy: boolean;
    readonly Client: { find(id: string): Promise<ProviderClient | undefined> };
    readonly Grant: new (properties: { accountId: string; clientId: string }) => GrantInstance;
    callback(): (request: IncomingMessage, response: ServerResponse) => void;
    interactionDetails(request: IncomingMessage, response: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      request: IncomingMessage,
      response: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    use(middleware: (ctx: MiddlewareContext, next: () => Promise<void>) => Promise<void>): this;
    on(event: string, listener: (ctx: OidcContext, ...rest: unknown[]) => void): this;
  }

  export const errors: {
    readonly InvalidTarget: new (description?: string) => Error;
    readonly InvalidRequest: new (description?: string) => Error;
  };

  export default Provider;
}
