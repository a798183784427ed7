import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocal } from '../../local/index.js';
import type { Frame, TestClient } from '../helpers/client.js';
import { type Postbox, startPostbox } from '../helpers/local.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const dataDir = mkdtempSync(join(tmpdir(), 'postbox-queue-'));

/** `npm run queue -- --local …` against the runtime below, as a user would run it in another terminal. */
async function queueCommand(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return queueCommandOn(dataDir, ...args);
}

async function queueCommandOn(
  folder: string,
  ...args: string[]
): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(
      join(root, 'node_modules/.bin/tsx'),
      ['scripts/queue.ts', '--local', '--data-dir', folder, ...args],
      { cwd: root },
    );
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const { stdout, stderr, code } = err as { stdout: string; stderr: string; code: number };
    return { stdout, stderr, code };
  }
}

let postbox: Postbox;
let driver: TestClient;
beforeAll(async () => {
  // One delivery, so one nack dead-letters a job.
  postbox = await startPostbox({ inMemory: false, dataDir, environment: { MAX_DELIVERIES: '1' } });
  driver = await postbox.connect('queue-cmd-driver');
  await driver.request({ action: 'consume', queue: 'parcels', prefetch: 1 });
});
afterAll(async () => {
  await postbox?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const jobsOf = (client: TestClient) => client.frames.filter((f) => f.type === 'job');
async function nextJob(client: TestClient, index: number, timeoutMs = 10_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = jobsOf(client)[index];
    if (job) return job;
    if (Date.now() > deadline) throw new Error(`no job number ${index + 1} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Enqueues a job and nacks it: with one delivery allowed, it is dead. */
async function deadJob(payload: unknown): Promise<string> {
  const before = jobsOf(driver).length;
  const { id } = await driver.request({ action: 'enqueue', queue: 'parcels', payload });
  const job = await nextJob(driver, before);
  expect(job.id).toBe(id);
  expect(
    await driver.request({ action: 'nack', queue: 'parcels', id, lease: job.lease, reason: 'address unknown' }),
  ).toMatchObject({ type: 'released' });
  return id as string;
}

describe('npm run queue -- --local', () => {
  it('lists a dead job with its attempts and last error, redrives it to a consumer, and purges it', async () => {
    const id = await deadJob({ parcel: 9 });
    const listed = await queueCommand('dead', 'parcels', '--json');
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ id, attempts: 1, lastError: 'address unknown', payload: { parcel: 9 } }),
    ]);
    expect((await queueCommand('dead', 'parcels')).stdout).toContain(`${id}  attempts 1`);

    const before = jobsOf(driver).length;
    expect((await queueCommand('redrive', 'parcels', id)).stdout).toBe('Redrove 1 job of parcels.\n');
    const back = await nextJob(driver, before);
    expect([back.id, back.attempt]).toEqual([id, 1]);
    expect(JSON.parse((await queueCommand('dead', 'parcels', '--json')).stdout)).toEqual([]);

    // Dead again; purged for good.
    await driver.request({ action: 'nack', queue: 'parcels', id, lease: back.lease });
    expect((await queueCommand('purge', 'parcels')).stdout).toBe('Purged 1 dead job of parcels.\n');
    expect(JSON.parse((await queueCommand('dead', 'parcels', '--json')).stdout)).toEqual([]);
    expect((await queueCommand('redrive', 'parcels', id)).stdout).toBe('Redrove 0 jobs of parcels.\n');
  }, 60_000);

  it('says in one sentence when no npm start runs on the folder', async () => {
    const other = mkdtempSync(join(tmpdir(), 'postbox-none-'));
    try {
      const { stdout, stderr, code } = await run(
        join(root, 'node_modules/.bin/tsx'),
        ['scripts/queue.ts', '--local', '--data-dir', other, 'dead', 'parcels'],
        { cwd: root },
      ).then(
        (r) => ({ ...r, code: 0 }),
        (err: { stdout: string; stderr: string; code: number }) => err,
      );
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr.trim()).toBe(`No npm start is running on ${other}: start it first (or give --data-dir).`);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

/**
 * An app in two stacks: the jobs table and push queue in one, exported; the API and a work-queue function that
 * imports them in the other.
 */
function twoStackAssembly(dir: string): string {
  mkdirSync(join(dir, 'asset.jobs'), { recursive: true });
  writeFileSync(join(dir, 'asset.jobs', 'index.js'), 'exports.handler = async () => ({ statusCode: 200 });');
  const exported = (name: string, value: unknown) => ({ Value: value, Export: { Name: `Jobs:${name}` } });
  const jobs = {
    Resources: {
      JobsTable: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: ['queue', 'key', 'order'].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
          KeySchema: [
            { AttributeName: 'queue', KeyType: 'HASH' },
            { AttributeName: 'key', KeyType: 'RANGE' },
          ],
          LocalSecondaryIndexes: [
            {
              IndexName: 'byOrder',
              KeySchema: [
                { AttributeName: 'queue', KeyType: 'HASH' },
                { AttributeName: 'order', KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'KEYS_ONLY' },
            },
          ],
        },
        Metadata: { 'aws:cdk:path': 'Jobs/Table/Resource' },
      },
      PushQueue: { Type: 'AWS::SQS::Queue', Properties: {}, Metadata: { 'aws:cdk:path': 'Jobs/Push/Resource' } },
    },
    Outputs: { T: exported('JobsTable', { Ref: 'JobsTable' }), Q: exported('PushQueueUrl', { Ref: 'PushQueue' }) },
  };
  const work = {
    Resources: {
      Api: {
        Type: 'AWS::ApiGatewayV2::Api',
        Properties: { Name: 'ws', ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' },
      },
      Stage: { Type: 'AWS::ApiGatewayV2::Stage', Properties: { ApiId: { Ref: 'Api' }, StageName: 'prod' } },
      JobsFn: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Handler: 'index.handler',
          Runtime: 'nodejs24.x',
          Code: { S3Bucket: 'b', S3Key: 'jobs.zip' },
          Environment: {
            Variables: {
              JOBS_TABLE: { 'Fn::ImportValue': 'Jobs:JobsTable' },
              PUSH_QUEUE_URL: { 'Fn::ImportValue': 'Jobs:PushQueueUrl' },
              CALLBACK_URL: {
                'Fn::Join': [
                  '',
                  ['https://', { Ref: 'Api' }, '.execute-api.', { Ref: 'AWS::Region' }, '.amazonaws.com/prod'],
                ],
              },
            },
          },
        },
        Metadata: { 'aws:cdk:path': 'Work/JobsFn/Resource', 'aws:asset:path': 'asset.jobs' },
      },
    },
  };
  const artifacts = { Work: { type: 'aws:cloudformation:stack' }, Jobs: { type: 'aws:cloudformation:stack' } };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ artifacts }));
  writeFileSync(join(dir, 'Jobs.template.json'), JSON.stringify(jobs));
  writeFileSync(join(dir, 'Work.template.json'), JSON.stringify(work));
  return dir;
}

describe('npm run queue -- --local on an app in several stacks', () => {
  const folder = mkdtempSync(join(tmpdir(), 'postbox-queue-stacks-'));
  let app: LocalStack;
  beforeAll(async () => {
    app = await startLocal({
      port: 0,
      cdkOut: twoStackAssembly(join(folder, 'cdk.out')),
      dataDir: join(folder, 'data'),
      logSink: () => {},
    });
  });
  afterAll(async () => {
    await app?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('finds the work queues through the stacks the runtime runs, imports resolved', async () => {
    expect(app.models.map((m) => m.stackName)).toEqual(['Jobs', 'Work']);
    expect(await queueCommandOn(join(folder, 'data'), 'dead', 'parcels')).toEqual({
      code: 0,
      stdout: 'No dead jobs in parcels.\n',
      stderr: '',
    });
    expect(await queueCommandOn(join(folder, 'data'), 'purge', 'parcels')).toMatchObject({
      code: 0,
      stdout: 'Purged 0 dead jobs of parcels.\n',
    });
  }, 30_000);
});
