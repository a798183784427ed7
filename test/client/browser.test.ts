import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { connect, type PostboxClient } from 'postbox/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../functions/lib/token.js';
import { clientAssets } from '../../local/client-assets.js';
import { type Postbox, startPostbox } from '../helpers/local.js';

// The browser SDK as the local runtime serves it (/postbox.js, /demo), in Debian's Chromium, headless: never a
// browser playwright downloads. `.ci/run` installs chromium where it is missing.
const root = resolve(import.meta.dirname, '../..');
const output = join(root, 'test-output');
let postbox: Postbox;
let browser: Browser;
let alice: PostboxClient;

beforeAll(async () => {
  postbox = await startPostbox({ assets: await clientAssets(root) });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  alice = connect(postbox.local.url, { getToken: () => mintToken(postbox.secret, 'w-alice', '10m') });
});
afterAll(async () => {
  await alice?.close();
  await browser?.close();
  await postbox?.stop();
});

describe('the browser SDK', () => {
  it('is served as an ESM bundle at /postbox.js, with the demo page at /demo; other paths are not files', async () => {
    const bundle = await fetch(`${postbox.local.httpUrl}/postbox.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
    const text = await bundle.text();
    expect(text).toMatch(/export\s*\{[^}]*\bconnect\b/);
    // Types only from #protocol: zod stays out of the browser bundle.
    expect(text).not.toContain('zod');
    const demo = await fetch(`${postbox.local.httpUrl}/demo?token=x`);
    expect(demo.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await demo.text()).toContain("import { connect } from '/postbox.js'");
    expect((await fetch(`${postbox.local.httpUrl}/nothing.js`)).status).toBe(403);
  });

  it('shows live messages, misses none while offline, and shows them in order when back', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const token = await mintToken(postbox.secret, 'w-bob', '10m');
    await page.goto(`${postbox.local.httpUrl}/demo?topic=w-topic&token=${token}`);
    await page.locator('#state[data-state="synced"]').waitFor();
    // The page subscribes on load and marks the body once the server has answered `subscribed`.
    await page.locator('body[data-subscribed="w-topic"]').waitFor();
    const items = page.locator('#messages li');
    for (const text of ['hello', 'one', 'two']) await alice.publish('w-topic', text);
    await expect.poll(() => items.allTextContents(), { timeout: 15_000 }).toEqual(texts('hello', 'one', 'two'));

    // Offline: the page's client closes its socket; the server runs $disconnect before anything more is published.
    const disconnects = postbox.local.spy.events({ kind: 'disconnect' }).length;
    await page.click('#offline');
    await page.locator('#state[data-state="disconnected"]').waitFor();
    await expect
      .poll(() => postbox.local.spy.events({ kind: 'disconnect' }).length, { timeout: 15_000 })
      .toBeGreaterThan(disconnects);
    for (const text of ['three', 'four', 'five']) await alice.publish('w-topic', text);
    expect(await items.allTextContents()).toEqual(texts('hello', 'one', 'two'));

    await page.click('#online');
    await page.locator('#state[data-state="synced"]').waitFor();
    await alice.publish('w-topic', 'six');
    await expect
      .poll(() => items.allTextContents(), { timeout: 15_000 })
      .toEqual(texts('hello', 'one', 'two', 'three', 'four', 'five', 'six'));
    mkdirSync(output, { recursive: true });
    await page.screenshot({ path: join(output, 'browser-demo.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});

function texts(...payloads: string[]): string[] {
  return payloads.map((p) => `w-alice: ${p}`);
}
