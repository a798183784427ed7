import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LambdaRuntime } from '../../local/lambda/index.js';
import { Spy } from '../../local/spy.js';
import type { FunctionModel } from '../../local/template/types.js';

const root = mkdtempSync(join(tmpdir(), 'postbox-lambda-'));
// The assets sit under a "type": "module" package, as cdk.out sits under this project's package.json.
writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module' }));

function fn(id: string, file: string, code: string, overrides: Partial<FunctionModel> = {}): FunctionModel {
  const taskRoot = join(root, `asset.${id}`);
  mkdirSync(taskRoot, { recursive: true });
  writeFileSync(join(taskRoot, file), code);
  return {
    logicalId: id,
    path: `Test/${id}/Resource`,
    name: `Test-${id}-ABCDEFGHIJKL`,
    displayName: id,
    arn: `arn:aws:lambda:us-east-1:000000000000:function:Test-${id}-ABCDEFGHIJKL`,
    handler: `${file.split('.')[0]}.handler`,
    taskRoot,
    handlerFile: join(taskRoot, file),
    handlerExport: 'handler',
    runtime: 'nodejs24.x',
    timeoutSeconds: 3,
    memoryMb: 256,
    environment: {},
    ...overrides,
  };
}

const stateful = `let calls = 0;
export const handler = async (event, context) => ({
  calls: ++calls, name: process.env.NAME, region: process.env.AWS_REGION, fnName: process.env.AWS_LAMBDA_FUNCTION_NAME,
  context: { ...context, remaining: context.getRemainingTimeInMillis() }, event,
});`;

const functions = [
  fn('Alpha', 'index.mjs', stateful),
  fn('Beta', 'index.mjs', stateful),
  fn('Sleepy', 'index.mjs', 'export const handler = (e) => new Promise((r) => setTimeout(() => r("late"), e.ms));', {
    timeoutSeconds: 1,
  }),
  fn(
    'Thrower',
    'index.mjs',
    `class ValidationError extends Error { name = 'ValidationError' }
export const handler = async (e) => {
  if (e.kind === 'throw') throw new ValidationError('bad input');
  if (e.kind === 'reject') { Promise.reject(new Error('nobody awaited')); return new Promise(() => {}); }
  if (e.kind === 'later') { setTimeout(() => { throw new Error('after return'); }, 10); return 'returned'; }
  console.log('fine', e.kind);
  return 'ok';
};`,
  ),
  fn('Slow', 'index.mjs', 'export const handler = () => new Promise((r) => setTimeout(() => r("done"), 300));'),
  fn('Reserved', 'index.mjs', 'export const handler = () => new Promise((r) => setTimeout(() => r("done"), 300));', {
    reservedConcurrency: 1,
  }),
  fn(
    'Legacy',
    'index.js',
    `const { SQSClient } = require('@aws-sdk/client-sqs');
exports.handler = async () => ({ format: typeof module, sdk: typeof SQSClient });`,
  ),
  fn(
    'Modern',
    'index.mjs',
    `import { SQSClient } from '@aws-sdk/client-sqs';
export const handler = async () => ({ sdk: typeof SQSClient });`,
  ),
];

describe('Lambda runtime', () => {
  const spy = new Spy();
  const lines: string[] = [];
  let runtime: LambdaRuntime;

  beforeAll(() => {
    runtime = new LambdaRuntime({
      functions,
      environment: (f) => ({
        NAME: `env-of-${f.displayName}`,
        AWS_REGION: 'us-east-1',
        AWS_LAMBDA_FUNCTION_NAME: f.name,
      }),
      spy,
      maxConcurrency: 2,
      sink: (line) => lines.push(line),
    });
  });
  afterAll(async () => {
    await runtime.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('gives each function its own process.env and module state, kept while the instance is warm', async () => {
    const a1 = await runtime.invoke('Alpha', { n: 1 });
    const b1 = await runtime.invoke('Beta', { n: 1 });
    const a2 = await runtime.invoke('Alpha', { n: 2 });
    expect(a1).toMatchObject({ ok: true, value: { calls: 1, name: 'env-of-Alpha', event: { n: 1 } } });
    expect(b1).toMatchObject({ ok: true, value: { calls: 1, name: 'env-of-Beta' } });
    expect(a2).toMatchObject({ ok: true, value: { calls: 2, name: 'env-of-Alpha' } });
    expect(process.env.NAME).toBeUndefined();
  });

  it('passes a fresh context in AWS format to every invocation', async () => {
    const first = await runtime.invoke('Alpha', {});
    const second = await runtime.invoke('Alpha', {});
    if (!first.ok || !second.ok) throw new Error('invocations failed');
    const context = (first.value as { context: Record<string, unknown> }).context;
    const alpha = functions[0] as FunctionModel;
    expect(context).toMatchObject({
      functionName: alpha.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: alpha.arn,
      memoryLimitInMB: '256',
      logGroupName: `/aws/lambda/${alpha.name}`,
      callbackWaitsForEmptyEventLoop: true,
    });
    expect(context.awsRequestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(context.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    // Counted down from the template's 3 s timeout; how much is left depends on the machine's load.
    expect(context.remaining).toBeGreaterThan(0);
    expect(context.remaining).toBeLessThanOrEqual(3000);
    const next = (second.value as { context: Record<string, unknown> }).context;
    expect(next.awsRequestId).not.toBe(context.awsRequestId);
    expect(next.logStreamName).toBe(context.logStreamName);
    await expect(
      spy.waitFor({ kind: 'invoke', requestId: String(context.awsRequestId), ok: true }),
    ).resolves.toMatchObject({ functionName: 'Alpha' });
  });

  it('stops a function at its timeout and replaces the instance', async () => {
    const timedOut = await runtime.invoke('Sleepy', { ms: 5000 });
    expect(timedOut).toMatchObject({ ok: false, error: { name: 'Sandbox.Timedout' } });
    if (timedOut.ok) return;
    expect(timedOut.error.message).toBe(
      `RequestId: ${timedOut.error.requestId} Error: Task timed out after 1.00 seconds`,
    );
    expect(runtime.pool('Sleepy')?.size).toBe(0);
    await expect(runtime.invoke('Sleepy', { ms: 10 })).resolves.toEqual({ ok: true, value: 'late' });
  });

  it('reports a thrown error with its name and the request id, and keeps running', async () => {
    const result = await runtime.invoke('Thrower', { kind: 'throw' });
    expect(result).toMatchObject({ ok: false, error: { name: 'ValidationError', message: 'bad input' } });
    if (result.ok) return;
    await spy.waitFor({
      kind: 'invoke',
      requestId: result.error.requestId,
      ok: false,
      error: 'ValidationError: bad input',
    });
    // Logs travel on the worker's stdout/stderr streams, beside (not before) the result message.
    const { requestId } = result.error;
    await expect.poll(() => lines.some((l) => l.startsWith('[Thrower] ') && l.includes(requestId))).toBe(true);
    await expect(runtime.invoke('Thrower', { kind: 'fine' })).resolves.toEqual({ ok: true, value: 'ok' });
    await expect
      .poll(() => lines)
      .toContainEqual(expect.stringMatching(/^\[Thrower\] \S+Z\t[0-9a-f-]{36}\tINFO\tfine fine$/));
  });

  it('fails the invocation on an unhandled rejection, as Lambda does, and replaces the instance', async () => {
    const result = await runtime.invoke('Thrower', { kind: 'reject' });
    expect(result).toMatchObject({ ok: false, error: { name: 'Runtime.UnhandledPromiseRejection' } });
    await expect(runtime.invoke('Thrower', { kind: 'fine' })).resolves.toEqual({ ok: true, value: 'ok' });
  });

  it('reports an uncaught error thrown after the handler returned, with the function name and request id', async () => {
    const result = await runtime.invoke('Thrower', { kind: 'later' });
    expect(result).toEqual({ ok: true, value: 'returned' });
    const crash = await spy.waitFor({
      kind: 'invoke',
      functionName: 'Thrower',
      error: 'Runtime.UncaughtException: after return',
    });
    expect(crash.ok).toBe(false);
    expect(
      lines.some((l) => l.startsWith('[Thrower]') && l.includes(crash.requestId) && l.includes('after return')),
    ).toBe(true);
    await expect(runtime.invoke('Thrower', { kind: 'fine' })).resolves.toEqual({ ok: true, value: 'ok' });
  });

  it('runs invocations past the local instance limit once an instance is free, as AWS would scale out', async () => {
    const results = await Promise.all([
      runtime.invoke('Slow', {}),
      runtime.invoke('Slow', {}),
      runtime.invoke('Slow', {}),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(runtime.pool('Slow')?.size).toBe(2);
  });

  it('throttles invocations past a function’s reserved concurrency', async () => {
    const results = await Promise.all([runtime.invoke('Reserved', {}), runtime.invoke('Reserved', {})]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.find((r) => !r.ok)).toMatchObject({
      ok: false,
      error: { name: 'TooManyRequestsException', message: 'Rate Exceeded.' },
    });
  });

  it('loads a .js handler as CommonJS and the runtime-provided AWS SDK, as Lambda does', async () => {
    await expect(runtime.invoke('Legacy', {})).resolves.toEqual({
      ok: true,
      value: { format: 'object', sdk: 'function' },
    });
    await expect(runtime.invoke('Modern', {})).resolves.toEqual({ ok: true, value: { sdk: 'function' } });
  });

  it('fails an invocation still running when the runtime stops, instead of leaving it hanging', async () => {
    const slow = functions.find((f) => f.logicalId === 'Slow') as FunctionModel;
    const own = new LambdaRuntime({ functions: [slow], environment: () => ({}), spy: new Spy(), sink: () => {} });
    const pending = own.invoke('Slow', {});
    await new Promise((r) => setTimeout(r, 100));
    await own.stop();
    await expect(pending).resolves.toMatchObject({ ok: false, error: { name: 'Runtime.ExitError' } });
  });

  it('fails invocations still waiting for an instance when the runtime stops, and starts no new one', async () => {
    const slow = functions.find((f) => f.logicalId === 'Slow') as FunctionModel;
    const own = new LambdaRuntime({
      functions: [slow],
      environment: () => ({}),
      spy: new Spy(),
      sink: () => {},
      maxConcurrency: 1,
    });
    const calls = [own.invoke('Slow', {}), own.invoke('Slow', {}), own.invoke('Slow', {})];
    await new Promise((r) => setTimeout(r, 100));
    await own.stop();
    const results = await Promise.all(calls);
    expect(results.map((r) => (r.ok ? 'ok' : r.error.name))).toEqual([
      'Runtime.ExitError',
      'Runtime.ExitError',
      'Runtime.ExitError',
    ]);
    expect(own.pool('Slow')?.size).toBe(0);
  });
});
