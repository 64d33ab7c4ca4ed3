import { ConversionLimitError, type ConversionLimits } from './conversion-limits.js';
import { convertOpenApi, OpenApiError, type ConversionResult } from './convert-openapi.js';

/** What a worker thread sends back: plain data, since errors lose their class between threads. */
export type ConversionReply =
  | { readonly ok: true; readonly result: ConversionResult }
  | {
      readonly ok: false;
      readonly message: string;
      readonly pointer: string;
      readonly line: number | null;
      readonly limit: keyof ConversionLimits | null;
    };

/** {@link convertOpenApi} as a worker thread's task: parsing and conversion both stay off the caller's thread. */
export function convertOpenApiTask(input: {
  readonly text: string;
  readonly limits: ConversionLimits;
}): ConversionReply {
  try {
    return { ok: true, result: convertOpenApi(input.text, input.limits) };
  } catch (error) {
    if (error instanceof OpenApiError) {
      const limit = error instanceof ConversionLimitError ? error.limit : null;
      return { ok: false, message: error.message, pointer: error.pointer, line: error.line, limit };
    }
    // The same document fails the same way every time: a converter bug is the document's failure too.
    return {
      ok: false,
      message: `the document could not be converted: ${(error as Error).message}`,
      pointer: '',
      line: null,
      limit: null,
    };
  }
}
