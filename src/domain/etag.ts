/** The identity of one stored state of a resource: enough to build a strong ETag. */
export interface Versioned {
  readonly revision: number;
  readonly createdAt: string;
}

/**
 * A strong ETag (RFC 9110 §8.8.3) for a resource state. The creation time is part of it so that a
 * resource deleted and created again under the same id does not reuse an old tag.
 */
export function etagOf(resource: Versioned): string {
  return `"${resource.revision}-${Date.parse(resource.createdAt).toString(36)}"`;
}

/** Splits an If-Match / If-None-Match header into its entity tags (`*` stays `*`). */
export function parseEtagList(header: string | undefined): string[] | undefined {
  if (header === undefined) return undefined;
  const tags = header.match(/\*|(?:W\/)?"[^"]*"/g) ?? [];
  return tags;
}

/** If-Match uses the strong comparison: weak tags never match (RFC 9110 §13.1.1). */
export function ifMatchPasses(current: string, ifMatch: readonly string[]): boolean {
  return ifMatch.some((tag) => tag === '*' || tag === current);
}

/** If-None-Match uses the weak comparison (RFC 9110 §13.1.2). */
export function ifNoneMatchHits(current: string, ifNoneMatch: readonly string[]): boolean {
  const strip = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag);
  return ifNoneMatch.some((tag) => tag === '*' || strip(tag) === strip(current));
}

/** What a caller asserts about the state it last saw; the service checks it inside the write. */
export interface Precondition {
  readonly ifMatch?: readonly string[];
}

export function checkPrecondition(resource: Versioned, precondition: Precondition | undefined): boolean {
  if (!precondition?.ifMatch) return true;
  return ifMatchPasses(etagOf(resource), precondition.ifMatch);
}
