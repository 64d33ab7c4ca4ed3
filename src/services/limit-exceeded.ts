/** The bounds on work a toolset makes outside the conversion itself, named as the reconciler reports them. */
export type WorkLimit =
  | 'conversionTimeoutMs'
  | 'conversionMemoryMb'
  | 'mcpListMaxPages'
  | 'mcpListMaxTools'
  | 'mcpListMaxBytes'
  | 'mcpListTimeoutMs';

/** Work stopped at a limit: the same spec would stop there again, so it is a failure, not a reason to retry. */
export class LimitExceeded extends Error {
  readonly limit: WorkLimit;

  constructor(limit: WorkLimit, message: string) {
    super(message);
    this.name = 'LimitExceeded';
    this.limit = limit;
  }
}
