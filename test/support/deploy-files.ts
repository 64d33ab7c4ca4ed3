// Small readers for the deployment files under deploy/: just enough of the Dockerfile, HAProxy and Compose
// syntax for test/deploy.test.ts to check them against the server's configuration.

export interface DockerInstruction {
  readonly keyword: string;
  readonly args: string;
}

export interface DockerStage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly DockerInstruction[];
}

/** The stages of a Dockerfile, continuation lines joined, comments dropped, `FROM ${ARG}` resolved. */
export function parseDockerfile(text: string): { readonly stages: readonly DockerStage[] } {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(`${pending}${line}`.trim());
    pending = '';
  }
  const globalArgs = new Map<string, string>();
  const stages: { image: string; name: string | undefined; instructions: DockerInstruction[] }[] = [];
  for (const line of logical.filter((l) => l !== '')) {
    const space = line.search(/\s/);
    const keyword = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const args = space < 0 ? '' : line.slice(space + 1).trim();
    if (keyword === 'FROM') {
      const [image = '', as, name] = args.split(/\s+/).filter((part) => !part.startsWith('--'));
      const resolved = image.replace(
        /\$\{(\w+)\}|\$(\w+)/g,
        (_m, a: string | undefined, b: string | undefined) => globalArgs.get((a ?? b)!) ?? '',
      );
      stages.push({ image: resolved, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (keyword === 'ARG') {
        const [key, value = ''] = args.split('=');
        globalArgs.set(key!.trim(), value.trim());
      }
    } else {
      stages.at(-1)!.instructions.push({ keyword, args });
    }
  }
  return { stages };
}

/** `["node", "x"]` as an array; shell form as `/bin/sh -c …` the way Docker runs it. */
export function execForm(args: string): string[] {
  return args.startsWith('[') ? (JSON.parse(args) as string[]) : ['/bin/sh', '-c', args];
}

/** The variables of `ENV A=1 B="two"` (and the old `ENV A 1`). */
export function parseEnvInstruction(args: string): Record<string, string> {
  if (!/^\w+=/.test(args)) {
    const [key, ...rest] = args.split(/\s+/);
    return { [key!]: rest.join(' ') };
  }
  const result: Record<string, string> = {};
  for (const m of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    const value = m[2]!;
    result[m[1]!] = /^["']/.test(value) ? value.slice(1, -1) : value;
  }
  return result;
}

export interface HaproxySection {
  readonly kind: string;
  readonly name: string | undefined;
  /** One entry per directive, split on white space. */
  readonly directives: readonly (readonly string[])[];
}

/** The sections of an haproxy.cfg: a line at the left margin opens one, indented lines belong to it. */
export function parseHaproxy(text: string): readonly HaproxySection[] {
  const sections: { kind: string; name: string | undefined; directives: string[][] }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trimEnd();
    if (line.trim() === '') continue;
    const words = line.trim().split(/\s+/);
    if (/^\S/.test(line)) sections.push({ kind: words[0]!, name: words[1], directives: [] });
    else if (sections.length > 0) sections.at(-1)!.directives.push(words);
  }
  return sections;
}

/** An HAProxy or Compose duration in milliseconds: `500ms`, `2s`, `5m`, `1h`, `1m30s`; a bare number is ms. */
export function durationMs(text: string): number {
  const units: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  if (/^\d+$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(us|ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new Error(`not a duration: ${text}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
}

/** Compose's variable interpolation: `${V}`, `${V:-default}`, `${V-default}`, `${V:?error}`, `${V?error}`, `$$`. */
export function interpolate(text: string, vars: Readonly<Record<string, string | undefined>>): string {
  return text.replace(
    /\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)/g,
    (match, braced?: string, op?: string, word?: string, bare?: string) => {
      if (match === '$$') return '$';
      const name = (braced ?? bare)!;
      const value = vars[name];
      const unsetOrEmpty = value === undefined || (op?.startsWith(':') === true && value === '');
      if (op?.endsWith('-')) return unsetOrEmpty ? (word ?? '') : value;
      if (op?.endsWith('?')) {
        if (unsetOrEmpty) throw new Error(`required variable ${name} is missing a value: ${word}`);
        return value;
      }
      return value ?? '';
    },
  );
}

/** The variables a Compose `environment:` block sets, whether written as a map or as `NAME=value` lines. */
export function composeEnvironment(environment: unknown): Record<string, string> {
  if (environment === undefined || environment === null) return {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(
      environment.map((entry: string) => {
        const eq = entry.indexOf('=');
        return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(environment as Record<string, unknown>).map(([k, v]) => [
      k,
      v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v as string | number | boolean),
    ]),
  );
}
