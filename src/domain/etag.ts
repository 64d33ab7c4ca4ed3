/** The identity of one stored state of a resource: enough to build a strong ETag. */
export interface Versioned {
  readonly revision: number;
  readonly createdAt: string;
  /**
   * A digest of server-managed state the representation shows beside the resource, which no write changes and no
   * revision counts (a connection's OAuth status, moved by every token refresh): in the ETag after a dot, so that a
   * conditional GET sees it move; a precondition on a write ignores it (`ifMatchPasses`).
   */
  readonly shownState?: string;
}

/**
 * A strong ETag (RFC 9110 §8.8.3) for a resource state. The creation time is part of it so that a
 * resource deleted and created again under the same id does not reuse an old tag.
 */
export function etagOf(resource: Versioned): string {
  const shown = resource.shownState ? `.${resource.shownState}` : '';
  return `"${resource.revision}-${Date.parse(resource.createdAt).toString(36)}${shown}"`;
}

/** A tag without its shown-state part: what identifies the stored resource a write would replace. */
const storedPartOf = (tag: string) => tag.replace(/\.[^".]*"$/, '"');

/** Splits an If-Match / If-None-Match header into its entity tags (`*` stays `*`). */
export function parseEtagList(header: string | undefined): string[] | undefined {
  if (header === undefined) return undefined;
  const tags = header.match(/\*|(?:W\/)?"[^"]*"/g) ?? [];
  return tags;
}

/**
 * If-Match uses the strong comparison: weak tags never match (RFC 9110 §13.1.1). It compares the stored resource's
 * part of the tags: a write replaces the resource, not the server-managed state shown beside it, so a tag read
 * before a token refresh still lets a write of the same revision through.
 */
export function ifMatchPasses(current: string, ifMatch: readonly string[]): boolean {
  const stored = storedPartOf(current);
  return ifMatch.some((tag) => tag === '*' || (!tag.startsWith('W/') && storedPartOf(tag) === stored));
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
