import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium unless CHROMIUM_PATH names another; playwright-core never downloads a browser. */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] || '/usr/bin/chromium';

/**
 * Why this file's browser tests cannot run, or null when they can. Chromium missing is a skip on a
 * developer machine and a failure where REQUIRE_BROWSER=1 (CI), so CI never passes by skipping.
 */
export function browserSkipReason(): string | null {
  if (existsSync(CHROMIUM_PATH)) return null;
  const why = `Chromium not found at ${CHROMIUM_PATH}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`;
  if (process.env['REQUIRE_BROWSER'] === '1') throw new Error(`${why} (REQUIRE_BROWSER=1 forbids skipping the browser tests).`);
  return `${why}; skipping the browser tests.`;
}

export interface TestBrowser {
  context: BrowserContext;
  /** A new tab with the given viewport width (default 1280). */
  newPage(width?: number): Promise<Page>;
  /** Forgets every cookie and stored item, so the next test starts signed out. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** One headless Chromium with a fresh profile per call; reuse it across the tests of a file (it costs a second or two). */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'onbehalf-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
  // A persistent context opens with one blank tab; close it so every test owns the tabs it opens.
  for (const p of context.pages()) await p.close();
  return {
    context,
    async newPage(width = 1280) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height: 800 });
      page.setDefaultTimeout(15_000);
      return page;
    },
    async reset() {
      for (const p of context.pages()) await p.close();
      await context.clearCookies();
    },
    async close() {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}

export const SCREENSHOT_DIR = join(new URL('../../..', import.meta.url).pathname, 'test-artifacts', 'screenshots');

/** A full-page PNG at test-artifacts/screenshots/<test>-<step>.png, for people to look at (nothing compares pixels). */
export async function screenshot(page: Page, test: string, step: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${test}-${step}.png`);
  // From the top (a click may have scrolled the page, and Chromium's full-page capture then leaves the part
  // of a frame above the old scroll position unpainted), after a frame resizing to its content has painted.
  await page.evaluate('window.scrollTo(0, 0); new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  // A cross-site frame (Confluence's app frame) is painted only as far as the window reaches: below that a
  // full-page capture showed it blank. So the window is made as tall as the page for the capture.
  const size = page.viewportSize();
  const height = await page.evaluate<number>('document.documentElement.scrollHeight');
  if (size && height > size.height) {
    await page.setViewportSize({ width: size.width, height });
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  }
  try {
    await page.screenshot({ path, fullPage: true });
  } finally {
    if (size && height > size.height) await page.setViewportSize(size);
  }
  return path;
}
