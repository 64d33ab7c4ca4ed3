/**
 * `text` within `max` UTF-16 code units (JavaScript's string length), ending in "…" when it had to be cut. The cut
 * never falls between the two halves of a surrogate pair (an emoji, say): a lone half is not Unicode, and strict
 * JSON and UTF-8 consumers refuse it.
 * @example cutText('Lists the events 📅 of a calendar', 19) // 'Lists the events …'
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
