import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrameLimiter as Limiter, ReportFrames } from '../../functions/lib/rate.js';
import { type Backend, startBackend } from '../helpers/backend.js';

let backend: Backend;
let db: DynamoDBDocumentClient;
let FrameLimiter: typeof Limiter;
let report: ReportFrames;
let addConnection: typeof import('../../functions/lib/connections.js').addConnection;
const table = () => backend.env.CONNECTIONS_TABLE as string;

beforeAll(async () => {
  backend = await startBackend();
  db = DynamoDBDocumentClient.from(backend.clients.dynamodb);
  Object.assign(process.env, backend.env);
  // The modules' DynamoDB client reads its endpoint from the environment when it loads.
  const rate = await import('../../functions/lib/rate.js');
  ({ addConnection } = await import('../../functions/lib/connections.js'));
  FrameLimiter = rate.FrameLimiter;
  report = rate.reportToConnectionRow(table());
});
afterAll(() => backend?.stop());

let n = 0;
async function connection(): Promise<{ clientId: string; connectionId: string }> {
  n += 1;
  const caller = { clientId: `rate-${n}`, connectionId: `rate-conn-${n}=` };
  await addConnection(table(), { ...caller, connectedAt: Date.now() }, 7200);
  return caller;
}

async function row(caller: { clientId: string; connectionId: string }): Promise<Record<string, unknown>> {
  const { Item } = await db.send(new GetCommand({ TableName: table(), Key: caller }));
  return Item ?? {};
}

/** The row's frame count: the window counted, its count and the one before's (absent before the first report). */
const windowCounts = (item: Record<string, unknown>) =>
  item.fw === undefined ? [] : [item.fp, item.fc].filter((count) => count !== 0);

// A fixed instant at the start of a window, so that no test straddles two windows by chance.
const windowStart = (windowMs: number) => Math.ceil(Date.now() / windowMs) * windowMs;

describe('the per-connection frame limit', () => {
  it('lets a burst through, refuses the next frame with a retry hint, and admits again once it has passed', async () => {
    const limiter = new FrameLimiter({ perSecond: 5, burst: 10 }, report);
    const caller = await connection();
    const t0 = windowStart(2_000);
    const results = [];
    for (let i = 0; i < 12; i++) results.push(await limiter.admit(caller, t0 + i));
    expect(results.slice(0, 10).every((r) => r.ok)).toBe(true);
    const refused = results[10];
    expect(refused).toEqual({ ok: false, retryAfterMs: expect.any(Number) });
    if (refused?.ok !== false) throw new Error('unreachable');
    // Eleven frames counted (the refused one too) at the start of a 2 s window: room for one more once two of the
    // eleven have slid out of the sliding window, 2 s + 2/11 of 2 s after the window began.
    expect(refused.retryAfterMs).toBe(Math.ceil(2_000 + (2 / 11) * 2_000) - 10);
    expect(results[11]).toMatchObject({ ok: false });
    expect(await limiter.admit(caller, t0 + 10 + refused.retryAfterMs)).toEqual({ ok: true });
  });

  it('costs no DynamoDB write until a tenth of the burst has come through one container', async () => {
    const limiter = new FrameLimiter({ perSecond: 10, burst: 100 }, report);
    const caller = await connection();
    const t0 = windowStart(10_000);
    for (let i = 0; i < 9; i++) expect(await limiter.admit(caller, t0 + i)).toEqual({ ok: true });
    expect(windowCounts(await row(caller))).toEqual([]);
    expect(await limiter.admit(caller, t0 + 9)).toEqual({ ok: true });
    expect(windowCounts(await row(caller))).toEqual([10]);
  });

  it('counts a connection across containers: each one learns the total when it reports', async () => {
    const rate = { perSecond: 2, burst: 10 };
    const [a, b] = [new FrameLimiter(rate, report), new FrameLimiter(rate, report)];
    const caller = await connection();
    const t0 = windowStart(5_000);
    for (let i = 0; i < 6; i++) expect(await a.admit(caller, t0 + i)).toEqual({ ok: true });
    for (let i = 0; i < 4; i++) expect(await b.admit(caller, t0 + 10 + i)).toEqual({ ok: true });
    // Neither container has seen ten frames itself; the row has.
    expect(await b.admit(caller, t0 + 20)).toMatchObject({ ok: false });
    expect(await a.admit(caller, t0 + 21)).toMatchObject({ ok: false });
    expect(windowCounts(await row(caller))).toEqual([12]);
  });

  it('keeps the count in three attributes of the row however many windows pass, and forgets an idle gap', async () => {
    // Two frames per 2 s window, reported one by one: one frame at the start of each window fits.
    const limiter = new FrameLimiter({ perSecond: 1, burst: 2 }, report);
    const caller = await connection();
    const t0 = windowStart(2_000);
    for (let w = 0; w < 4; w++) expect(await limiter.admit(caller, t0 + w * 2_000)).toEqual({ ok: true });
    expect(windowCounts(await row(caller))).toEqual([1, 1]);
    // Five windows later: nothing of before counts.
    expect(await limiter.admit(caller, t0 + 16_000)).toEqual({ ok: true });
    const item = await row(caller);
    expect(windowCounts(item)).toEqual([1]);
    expect(Object.keys(item).sort()).toEqual([
      'clientId',
      'connectedAt',
      'connectionId',
      'expiresAt',
      'fc',
      'fp',
      'fw',
    ]);
  });

  it('lets a client that waits out each hint through at about the limit, with about a write per tenth of a burst', async () => {
    const limiter = new FrameLimiter({ perSecond: 100, burst: 200 }, report);
    const caller = await connection();
    const t0 = windowStart(2_000);
    let now = t0;
    let admitted = 0;
    let refused = 0;
    // Ten seconds of a client that sends as fast as it may, waiting each retryAfterMs it is given.
    while (now < t0 + 10_000) {
      const result = await limiter.admit(caller, now);
      if (result.ok) {
        admitted += 1;
        now += 1;
      } else {
        refused += 1;
        now += result.retryAfterMs;
      }
    }
    // At most 200 in any 2 s: about 1,000 in ten seconds, a little less for the frame each block costs and the
    // sliding window's estimate. (Waiting only for room for one frame let 598 through, with 401 refusals.)
    expect(admitted).toBeGreaterThan(900);
    expect(admitted).toBeLessThanOrEqual(1_210);
    expect(refused).toBeLessThan(admitted / 10);
  });

  it('lets frames through when the connection has no row to count on (closed, or never recorded)', async () => {
    const limiter = new FrameLimiter({ perSecond: 1, burst: 1 }, report);
    const ghost = { clientId: 'rate-ghost', connectionId: 'rate-ghost=' };
    const t0 = windowStart(1_000);
    for (let i = 0; i < 3; i++) expect(await limiter.admit(ghost, t0 + i)).toEqual({ ok: true });
    expect(await row(ghost)).toEqual({});
  });

  it('keeps each connection to its own count', async () => {
    const limiter = new FrameLimiter({ perSecond: 1, burst: 2 }, report);
    const [noisy, quiet] = [await connection(), await connection()];
    const t0 = windowStart(2_000);
    for (let i = 0; i < 3; i++) await limiter.admit(noisy, t0 + i);
    expect(await limiter.admit(noisy, t0 + 5)).toMatchObject({ ok: false });
    expect(await limiter.admit(quiet, t0 + 5)).toEqual({ ok: true });
  });
});
