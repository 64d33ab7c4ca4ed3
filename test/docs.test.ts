// The documentation stays navigable and true to the tree: every relative link between the README, SECURITY.md
// and docs/ reaches a file (and a heading, when it names one), and the architecture page names every folder
// under src/.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function filesUnder(dir: string, keep: (path: string, isDir: boolean) => boolean): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    const isDir = statSync(join(ROOT, path)).isDirectory();
    return [...(keep(path, isDir) ? [path] : []), ...(isDir ? filesUnder(path, keep) : [])];
  });
}

const pages = ['README.md', 'SECURITY.md', ...filesUnder('docs', (p, isDir) => !isDir && p.endsWith('.md'))];

/** The text outside fenced code blocks, where links and headings live. */
const prose = (markdown: string) => markdown.replace(/^```[\s\S]*?^```$/gm, '');

/** Heading anchors as GitHub makes them: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, text] of prose(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = text!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

describe('the documentation', () => {
  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(join(ROOT, page), 'utf8');
      for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target!)) continue;
        const [path, anchor] = target!.split('#') as [string, string | undefined];
        const file = path === '' ? page : relative(ROOT, join(ROOT, dirname(page), path));
        if (!existsSync(join(ROOT, file))) {
          broken.push(`${page}: ${target} (no ${file})`);
          continue;
        }
        if (
          anchor !== undefined &&
          file.endsWith('.md') &&
          !anchorsOf(readFileSync(join(ROOT, file), 'utf8')).has(anchor)
        ) {
          broken.push(`${page}: ${target} (no heading #${anchor} in ${file})`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  it('links every page under docs/ from the README', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const unlinked = pages.filter((p) => p.startsWith('docs/') && !readme.includes(`](${p}`));
    assert.deepEqual(unlinked, []);
  });

  it('keeps the README a front page', () => {
    const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n').length;
    assert.ok(lines <= 260, `README.md has ${lines} lines; move detail into docs/`);
  });

  it('names every folder under src/ in the architecture page', () => {
    const architecture = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
    const folders = filesUnder('src', (p, isDir) => isDir && !p.split('/').slice(2).includes('fixtures'));
    const missing = folders.filter((folder) => {
      const name = folder.split('/').slice(1).join('/');
      return (
        !architecture.includes(`${folder}/`) && !new RegExp(`^\\s+${name.split('/').at(-1)}/`, 'm').test(architecture)
      );
    });
    assert.deepEqual(missing, []);
  });
});
