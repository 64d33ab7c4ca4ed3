import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium: the browser tests drive it, never a browser a test tool downloads. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

// Without the background-networking flags Chromium keeps dialling Google's hosts, which this closed network refuses.
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function aptGet(args: string[]) {
  return spawnSync('apt-get', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    encoding: 'utf8',
    timeout: 15 * 60_000,
  });
}

/** Installs Debian's chromium package when /usr/bin/chromium is missing; an install that fails says why. */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM_PATH)) return;
  let result = aptGet(['install', '-y', 'chromium']);
  if (result.status !== 0) {
    aptGet(['update']);
    result = aptGet(['install', '-y', 'chromium']);
  }
  if (result.status !== 0 || !existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is needed for the console's browser tests and could not be installed from Debian's packages ` +
        `(apt-get install -y chromium exited with ${result.status}): ${(result.stderr ?? '').trim().slice(-2000)}`,
    );
  }
}

/** A headless Chromium; Playwright gives every launch a fresh, empty user-data-dir of its own. */
export async function launchChromium(): Promise<Browser> {
  ensureChromium();
  try {
    return await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS });
  } catch (error) {
    throw new Error(`Chromium at ${CHROMIUM_PATH} did not start: ${(error as Error).message}`, { cause: error });
  }
}
