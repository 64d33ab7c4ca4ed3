// What every console browser test checks on its pages: no console or page errors (but the statuses a test provokes
// on purpose), every control labelled, axe-core with no serious or critical violation in light, dark and at 390 px,
// nothing scrolling sideways at 390 px, and a screenshot of each (test-output/console/<name>-{light,dark,390}.png).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SCREENSHOTS = join(ROOT, 'test-output/console');
const AXE_SOURCE = readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');

/** Every form control has a label (a <label for>, a wrapping label, or aria-label). */
export async function assertLabelled(page: Page) {
  // Evaluated in the page (a string: the tests are compiled without the DOM's types).
  const unlabelled = await page.evaluate(`[...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.type !== 'hidden' && (el.labels?.length ?? 0) === 0 && !el.getAttribute('aria-label'))
    .map((el) => el.outerHTML)`);
  assert.deepEqual(unlabelled, [], 'form controls without a label');
}

/**
 * Waits until an expression (a string: no DOM types here) is true in the page. Playwright's `waitForFunction`
 * evaluates a string predicate with `eval` inside the page when it has to poll, which the console's
 * Content-Security-Policy (`script-src 'self'`) refuses; `page.evaluate` goes through the DevTools protocol.
 */
export async function waitForExpression(page: Page, expression: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate<boolean>(`Boolean(${expression})`))) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** axe-core's findings on the page as it is now: none serious or critical allowed. */
export async function assertAccessible(page: Page, name: string) {
  // Evaluated through the DevTools protocol, which the console's Content-Security-Policy does not govern.
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate<string[]>(`axe
    .run(document, { resultTypes: ['violations'] })
    .then((r) => r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')))`);
  assert.deepEqual(violations, [], `axe found serious or critical violations on ${name}`);
}

/** No sideways scrolling: the page is no wider than the window. */
export async function assertNoSidewaysOverflow(page: Page, name: string) {
  const widths = await page.evaluate<[number, number]>(
    `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`,
  );
  assert.ok(widths[0] <= widths[1], `${name} overflows sideways at ${widths[1]} px: ${widths[0]} px wide`);
}

/**
 * axe in light and dark at 1280 px and at 390 px, no sideways overflow at 390 px, a screenshot of each. The page is
 * left as it was found; `checked` records the name.
 */
export async function checkPage(page: Page, name: string, checked?: Set<string>) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const viewport = page.viewportSize() ?? { width: 1280, height: 900 };
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await assertAccessible(page, `${name} (${scheme})`);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${scheme}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 390, height: 844 });
  await assertNoSidewaysOverflow(page, name);
  await assertAccessible(page, `${name} (390 px)`);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-390.png`), fullPage: true });
  await page.setViewportSize(viewport);
  await page.emulateMedia({ colorScheme: 'light' });
  checked?.add(name);
}

/**
 * A fresh browser profile (its own cookies and session storage) that fails the test on any console error or page
 * error and on an unlabelled control. The browser logs an error for every 4xx answer; a test names the statuses it
 * provokes on purpose.
 */
export async function withPage(
  browser: Browser,
  base: string,
  body: (page: Page, context: BrowserContext) => Promise<void>,
  options: { expectedStatuses?: number[] } = {},
) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const status = /the server responded with a status of (\d+)/.exec(message.text());
      if (status && (options.expectedStatuses ?? []).includes(Number(status[1]))) return;
      // The browser's own favicon request on the server-rendered pages (invitation, sign-in), which link none.
      if (status && new URL(message.location().url || 'about:blank').pathname === '/favicon.ico') return;
      errors.push(`console: ${message.text()} (${message.location().url})`);
    });
  };
  context.on('page', watch);
  try {
    const page = await context.newPage();
    await body(page, context);
    for (const open of context.pages()) await assertLabelled(open);
  } finally {
    await context.close();
  }
  assert.deepEqual(errors, [], 'the console logged errors');
}
