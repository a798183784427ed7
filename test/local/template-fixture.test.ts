import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type LocalStack, startLocal } from '../../local/index.js';
import { loadModel, type TemplateModel } from '../../local/template/index.js';
import { buildFixtureApp } from './fixture-app/app.js';

/** The fixture app (not Postbox's stack), synthesized for real: esbuild bundles, asset metadata, CDK's own ids. */
const cdkOut = mkdtempSync(join(tmpdir(), 'postbox-fixture-'));

beforeAll(() => {
  buildFixtureApp(cdkOut).synth();
});
afterAll(() => rmSync(cdkOut, { recursive: true, force: true }));

describe('model of a synthesized CDK app', () => {
  let model: TemplateModel;
  beforeAll(() => {
    model = loadModel(cdkOut);
  });

  it('finds the functions, their bundled code and settings', () => {
    const byName = new Map([...model.functions.values()].map((f) => [f.displayName, f]));
    expect([...byName.keys()].sort()).toEqual(['Authorize', 'Echo', 'Worker']);
    expect(byName.get('Echo')).toMatchObject({
      runtime: 'nodejs24.x',
      timeoutSeconds: 5,
      memoryMb: 128,
      handler: 'index.handler',
    });
    expect(byName.get('Echo')?.handlerFile).toMatch(/asset\.[0-9a-f]{64}\/index\.mjs$/);
  });

  it('follows the API from routes to integrations to functions, with the two-way route and the authorizer', () => {
    const fnId = (name: string) => [...model.functions.values()].find((f) => f.displayName === name)?.logicalId;
    const api = model.api?.gateway;
    expect(api).toMatchObject({ stage: 'live', routeSelectionExpression: '$request.body.action' });
    expect(api?.routes.get('$connect')).toEqual({
      routeKey: '$connect',
      functionId: fnId('Echo'),
      twoWay: false,
      authorizer: { name: 'Auth', functionId: fnId('Authorize'), identitySource: ['route.request.querystring.name'] },
    });
    expect(api?.routes.get('echo')).toMatchObject({ functionId: fnId('Echo'), twoWay: true });
  });

  it('models the queue, its dead-letter queue and the event source mapping', () => {
    const [mapping] = model.eventSourceMappings;
    const queue = model.queues.get(mapping?.queueId ?? '');
    expect(mapping).toMatchObject({
      batchSize: 5,
      reportBatchItemFailures: true,
      maximumConcurrency: 2,
      enabled: true,
    });
    expect(model.functions.get(mapping?.functionId ?? '')?.displayName).toBe('Worker');
    expect(queue).toMatchObject({ visibilityTimeoutSeconds: 30, redrive: { maxReceiveCount: 3 } });
    expect(model.queues.get(queue?.redrive?.deadLetterQueueId ?? '')?.path).toBe('FixtureStack/Dlq/Resource');
  });
});

describe('startLocal on the synthesized fixture app', () => {
  let local: LocalStack;
  const lines: string[] = [];

  beforeAll(async () => {
    local = await startLocal({ port: 0, cdkOut, inMemory: true, logSink: (l) => lines.push(l) });
  });
  afterAll(async () => {
    await local?.stop();
  });

  const connect = (query: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`${local.url}/${query}`);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });

  it('listens on loopback on a free port', () => {
    expect(local.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(local.port).toBeGreaterThan(0);
  });

  it('refuses a connection its authorizer denies with 403, and one without the identity source with 401', async () => {
    await expect(connect('?name=mallory')).rejects.toThrow(/Unexpected server response: 403/);
    await expect(connect('')).rejects.toThrow(/Unexpected server response: 401/);
  });

  it('answers on the two-way route, with CALLBACK_URL pointing at the local gateway, and drains the queue', async () => {
    const ws = await connect('?name=alice');
    const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send(JSON.stringify({ action: 'echo', job: 'hello' }));
    expect(JSON.parse(await reply)).toEqual({
      echo: JSON.stringify({ action: 'echo', job: 'hello' }),
      callback: `${local.httpUrl}/live`,
    });
    const batch = await local.spy.waitFor({ kind: 'batch', functionName: 'Worker' }, 10_000);
    expect(batch).toMatchObject({ size: 1, failed: 0 });
    expect(lines.some((l) => l.startsWith('[Worker] ') && l.includes('INFO') && l.includes('"job":"hello"'))).toBe(
      true,
    );
    ws.close();
  });
});
