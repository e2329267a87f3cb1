import { after, before } from 'node:test';
import type { Page } from 'playwright-core';
import { startBrowserWorld, type BrowserWorld, type BrowserWorldOptions } from './browser-world.js';
import { launchBrowser, type TestBrowser } from './launch-browser.js';
import { trackedPages } from './page-checks.js';

/**
 * One describe block's world and browser: both started before its tests and closed after them (also when
 * a test failed), plus the tracked pages. `w` stands for the world from the moment `before` has run, so
 * tests use it as a plain value.
 */
export function browserSuite(options: BrowserWorldOptions): { w: BrowserWorld; newPage(width?: number): Promise<Page>; fresh(): Promise<void> } {
  let world: BrowserWorld | undefined;
  let browser: TestBrowser | undefined;
  before(async () => {
    world = await startBrowserWorld(options);
    browser = await launchBrowser();
  }, { timeout: 180_000 });
  after(async () => {
    await browser?.close();
    await world?.close();
  }, { timeout: 60_000 });
  const w = new Proxy({} as BrowserWorld, {
    get(_target, prop) {
      if (!world) throw new Error('the browser world is used before its before() hook ran');
      const value: unknown = Reflect.get(world, prop, world);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(world) : value;
    },
  });
  const pages = trackedPages(() => {
    if (!browser) throw new Error('the browser is used before its before() hook ran');
    return browser;
  });
  return { w, ...pages };
}
