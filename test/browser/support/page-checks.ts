import assert from 'node:assert/strict';
import type { Frame, FrameLocator, Page } from 'playwright-core';
import type { TestBrowser } from './launch-browser.js';

/**
 * Records what a page must never show: uncaught script errors and Content-Security-Policy refusals
 * (a refused script leaves buttons that silently do nothing). HTTP error statuses of error pages are expected.
 */
export function watchProblems(page: Page): { problems: string[] } {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`uncaught in page: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
  });
  return { problems };
}

/** Signs in to the sandbox's Atlassian login page as a seeded user, the way a person does: one click. */
export async function signIn(page: Page, sandboxUrl: string, accountId: string): Promise<void> {
  await page.goto(`${sandboxUrl}/login`);
  await page.locator(`button[data-account-id="${accountId}"]`).click();
  await page.waitForURL(`${sandboxUrl}/`);
}

/** The app's frame inside the sandbox's Confluence page, once its script is ready for clicks. */
export async function appFrame(page: Page): Promise<FrameLocator> {
  const frame = page.frameLocator('iframe.ap-iframe');
  await frame.locator('#ob-link[data-ready="true"]').waitFor({ state: 'attached' });
  return frame;
}

export function gatewayFrame(page: Page, gatewayUrl: string): Frame {
  const frame = page.frames().find((f) => f.url().startsWith(gatewayUrl));
  assert.ok(frame, `no frame from ${gatewayUrl}; frames: ${page.frames().map((f) => f.url()).join(', ')}`);
  return frame;
}

/**
 * The layout checks every screenshot step makes: the page is in standards mode (a missing doctype puts it
 * in quirks mode, where a Confluence frame sized to its body kept growing), and nothing scrolls sideways
 * (at phone width a wider-than-screen element is the usual broken layout).
 */
export async function assertLayout(target: Page | Frame, what: string): Promise<void> {
  // Strings, not functions: the project compiles without the DOM library.
  assert.equal(await target.evaluate<string>('document.compatMode'), 'CSS1Compat', `${what}: rendered in quirks mode (no doctype?)`);
  const { scroll, client } = await target.evaluate<{ scroll: number; client: number }>('({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })');
  assert.ok(scroll <= client, `${what}: content is ${scroll}px wide in a ${client}px viewport`);
}

/**
 * Tabs whose problems are checked at the end of each test: `newPage()` opens a watched tab, `fresh()`
 * closes every tab, forgets cookies (the next test starts signed out) and fails on anything seen.
 */
export function trackedPages(browser: () => TestBrowser): { newPage(width?: number): Promise<Page>; fresh(): Promise<void> } {
  let seen: string[][] = [];
  return {
    async newPage(width) {
      const page = await browser().newPage(width);
      seen.push(watchProblems(page).problems);
      return page;
    },
    async fresh() {
      const problems = seen.flat();
      seen = [];
      await browser().reset();
      assert.deepEqual(problems, [], 'no script errors and no Content-Security-Policy refusals');
    },
  };
}
