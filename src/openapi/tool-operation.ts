/** A parameter the gateway places into the upstream request; its argument has the same name. */
export interface ToolParameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required: boolean;
}

/** Everything the gateway needs to turn a tool call into an HTTP request. */
export interface ToolOperation {
  /** Lower-case HTTP method. */
  readonly method: string;
  /** The path template as written in the document, e.g. /pets/{petId}. */
  readonly path: string;
  readonly operationId: string | null;
  /** The operation's, else the path's, else the document's first server URL (Swagger 2: scheme + host + basePath). */
  readonly serverUrl: string | null;
  readonly parameters: readonly ToolParameter[];
  /** `property` names the argument holding the body, or is null when the body's properties are top-level arguments. */
  readonly body: { readonly contentType: string; readonly required: boolean; readonly property: string | null } | null;
}
