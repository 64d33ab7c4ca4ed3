/**
 * The API's field messages (JSON Schema wording such as `must match pattern "^[a-z0-9]…$"`) in plain words: a
 * person should never have to read a regular expression.
 */

const KNOWN_PATTERNS: [RegExp, string][] = [
  [/\[Hh\]\[Tt\]\[Tt\]\[Pp\]\[Ss\]\?/, 'must be a web address starting with http:// or https://'],
  [/^\^\[1-9\]\[0-9\]/, 'must be a positive whole number'],
  // The API's email pattern: something@something, no spaces or control characters.
  [/^\^\[\^\\s@[^\]]*\]\+@/, 'must be an e-mail address, such as ada@example.com'],
];

/** "a-zA-Z0-9_-" → "letters, digits, _ and -" (lower-case only when the class has no upper case). */
function describeClass(body: string): string {
  const parts: string[] = [];
  let rest = body;
  const take = (token: string, words: string) => {
    if (rest.includes(token)) {
      parts.push(words);
      rest = rest.replace(token, '');
    }
  };
  const upper = rest.includes('A-Z');
  take('a-z', upper ? 'letters' : 'lower-case letters');
  take('A-Z', rest.includes('a-z') || parts.includes('letters') ? '' : 'upper-case letters');
  take('0-9', 'digits');
  rest = rest.replace(/\\/g, '');
  const symbols = [...new Set(rest.split(''))].filter((c) => c.trim() !== '');
  const words = parts.filter(Boolean);
  const all = [...words, ...symbols];
  if (all.length === 0) return 'the allowed characters';
  return all.length === 1 ? all[0]! : `${all.slice(0, -1).join(', ')} and ${all[all.length - 1]}`;
}

function describePattern(pattern: string): string {
  for (const [test, words] of KNOWN_PATTERNS) if (test.test(pattern)) return words;
  // The common shape: ^[first][rest]{m,n}$ or ^[chars]{m,n}$
  const simple = /^\^(?:\[([^\]]+)\])?\[([^\]]+)\](?:\{(\d+),(\d+)\}|\+|\*)?\$$/.exec(pattern);
  if (simple) {
    const [, first, body, min, max] = simple;
    let words = `may use only ${describeClass(body!)}`;
    if (first && first !== body) words += `, starting with ${describeClass(first)}`;
    if (min !== undefined && max !== undefined) {
      const low = Number(min) + (first ? 1 : 0);
      const high = Number(max) + (first ? 1 : 0);
      words += low === high ? `, ${high} characters` : `, at most ${high} characters`;
    }
    return words;
  }
  return 'is not in the form this field takes';
}

export function plainMessage(message: string): string {
  let match = /^must match pattern "(.*)"$/.exec(message);
  if (match) return describePattern(match[1]!);
  match = /^must match format "(.*)"$/.exec(message);
  if (match) {
    const format = match[1]!;
    if (format === 'uri' || format === 'url') return 'must be a full web address, such as https://example.com';
    if (format === 'date-time') return 'must be a date and time';
    if (format === 'email') return 'must be an e-mail address';
    return `must be a valid ${format}`;
  }
  match = /^must NOT have fewer than (\d+) characters?$/.exec(message);
  if (match) return match[1] === '1' ? 'must not be empty' : `must be at least ${match[1]} characters long`;
  match = /^must NOT have more than (\d+) (characters?|items?)$/.exec(message);
  if (match) return `must be at most ${match[1]} ${match[2]!.replace(/s?$/, 's')}`;
  match = /^must NOT have fewer than (\d+) items?$/.exec(message);
  if (match) return `needs at least ${match[1]}`;
  match = /^must have required property '(.*)'$/.exec(message);
  if (match) return `${match[1]} is required`;
  if (message === 'must be integer') return 'must be a whole number';
  if (message === 'must be number') return 'must be a number';
  if (message === 'must be string') return 'must be text';
  if (message === 'must be boolean') return 'must be yes or no (true or false)';
  if (message === 'must be equal to one of the allowed values') return 'is not one of the allowed choices';
  if (message === 'must NOT have additional properties') return 'is not a field that can be set here';
  match = /^must be (>=|<=|>|<) (-?\d+(?:\.\d+)?)$/.exec(message);
  if (match) {
    const words: Record<string, string> = {
      '>=': 'at least',
      '<=': 'at most',
      '>': 'more than',
      '<': 'less than',
    };
    return `must be ${words[match[1]!]} ${match[2]}`;
  }
  return message;
}

/** What each permission the API names in a 403 lets someone do, in words. */
const ACTION_WORDS: Record<string, string> = {
  'member:read': 'seeing its members',
  'member:manage': 'inviting people or changing members (admins and owners may)',
  'oauth-grant:read': "seeing the OAuth clients its members connected (only the workspace's owners may)",
  'oauth-grant:manage': "revoking its members' OAuth clients (only the workspace's owners may)",
  'api-key:read': 'seeing its API keys (admins and owners may)',
  'api-key:manage': 'managing its API keys (admins and owners may)',
  'toolset:call': 'calling tools (editors and above may)',
  'workspace:update': 'changing the workspace (admins and owners may)',
  'workspace:delete': 'deleting the workspace (only owners may)',
};

/** A problem's detail in plain words: the API's 403 names a permission such as `oauth-grant:read`. */
export function plainDetail(detail: string): string {
  return detail.replace(/does not allow ([a-z-]+):([a-z-]+)\.?/, (whole, resource: string, verb: string) => {
    const known = ACTION_WORDS[`${resource}:${verb}`];
    if (known) return `does not allow ${known}.`;
    const noun = resource.replace(/-/g, ' ');
    if (verb === 'read') return `does not allow seeing its ${noun}s.`;
    if (['create', 'update', 'delete', 'test'].includes(verb))
      return `does not allow ${verb === 'test' ? 'testing' : `${verb.replace(/e$/, '')}ing`} ${noun}s.`;
    return whole;
  });
}
