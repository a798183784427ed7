import { backoffDelay, connect, expiryOf, PostboxError, seededRandom } from 'postbox/client';
import { describe, expect, it, vi } from 'vitest';
import { mintToken } from '../../functions/lib/token.js';

// The SDK's parts that need no server: backoff, token expiry, the wrong entry for the place.
describe('the SDK without a server', () => {
  it('backs off exponentially with equal jitter, capped, the same for the same seed', () => {
    const options = { initialDelayMs: 500, maxDelayMs: 30_000 };
    const delays = (seed: number) => [1, 2, 3, 4, 10].map((n) => backoffDelay(n, options, seededRandom(seed)));
    expect(delays(7)).toEqual(delays(7));
    const [d1, d2, d3, d4, d10] = delays(7) as [number, number, number, number, number];
    expect(d1).toBeGreaterThanOrEqual(250);
    expect(d1).toBeLessThanOrEqual(500);
    expect(d2).toBeGreaterThanOrEqual(500);
    expect(d3).toBeGreaterThanOrEqual(1_000);
    expect(d4).toBeGreaterThanOrEqual(2_000);
    expect(d10).toBeGreaterThanOrEqual(15_000);
    expect(d10).toBeLessThanOrEqual(30_000);
  });

  it('refuses a url that is not ws:// or wss://, with a PostboxError', () => {
    expect(() => connect('http://127.0.0.1:1', { token: 'x' })).toThrow(
      new PostboxError('BadRequest', 'url: must start with ws:// or wss:// (http://127.0.0.1:1)'),
    );
  });

  it('says so when the node entry is loaded in a browser', async () => {
    vi.resetModules();
    vi.stubGlobal('document', {});
    try {
      const loading = import('../../client/node.js');
      // A fresh module graph (resetModules), so its PostboxError is another class object than this file's.
      await expect(loading).rejects.toMatchObject({
        name: 'PostboxError',
        code: 'Unsupported',
        message: expect.stringContaining("let your bundler use the 'browser' export condition"),
      });
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('says so when the browser entry finds no WebSocket', async () => {
    const { connect: connectInBrowser } = await import('../../client/browser.js');
    vi.stubGlobal('WebSocket', undefined);
    try {
      expect(() => connectInBrowser('ws://127.0.0.1:1', { token: 'x' })).toThrow(/found no WebSocket here/);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

it('reads exp from a JWT without verifying it, and nothing from what is not one', async () => {
  const token = await mintToken('any', 'x', '1h');
  expect(expiryOf(token)).toBeCloseTo(Date.now() / 1000 + 3600, -1);
  expect(expiryOf('not-a-jwt')).toBeUndefined();
});
