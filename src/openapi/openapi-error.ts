/**
 * A document that cannot become tools. The message says what is wrong; `pointer` (JSON Pointer, '' for the root)
 * and `line` (1-based, null when unknown) say where, for the caller to render.
 */
export class OpenApiError extends Error {
  readonly pointer: string;
  readonly line: number | null;

  constructor(message: string, pointer: string, line: number | null = null) {
    super(message);
    this.name = 'OpenApiError';
    this.pointer = pointer;
    this.line = line;
  }
}
