import { OpenApiError } from './openapi-error.js';

/**
 * How much one document may turn into. Sizes count the tools' input schemas as served (JSON bytes, every
 * shared schema counted at each use), because that is what storage, the gateway and its clients will carry.
 */
export interface ConversionLimits {
  readonly maxOperations: number;
  readonly maxToolSchemaBytes: number;
  readonly maxToolsetSchemaBytes: number;
}

/** No limits: for callers that convert documents they wrote themselves (tests, benchmarks). */
export const UNLIMITED: ConversionLimits = Object.freeze({
  maxOperations: Number.POSITIVE_INFINITY,
  maxToolSchemaBytes: Number.POSITIVE_INFINITY,
  maxToolsetSchemaBytes: Number.POSITIVE_INFINITY,
});

/** A document that would become more than a limit allows; `limit` names which one. */
export class ConversionLimitError extends OpenApiError {
  readonly limit: keyof ConversionLimits;

  constructor(limit: keyof ConversionLimits, message: string, pointer: string, line: number | null = null) {
    super(message, pointer, line);
    this.name = 'ConversionLimitError';
    this.limit = limit;
  }
}

/** 1234567 → "1,234,567": limits are read by people. */
export const formatCount = (n: number) => n.toLocaleString('en');
