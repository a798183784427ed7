import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_INSTANCES } from '../local/lambda/runtime.js';
import { costOf } from './bench/cost.js';
import { startPostbox } from './bench/postbox.js';
import { startRelay } from './bench/relay.js';
import { type BenchResults, formatReport, targetsOf } from './bench/report.js';
import { latency, type Target, throughput, workQueue } from './bench/scenarios.js';
import { emptySnapshot } from './bench/tally.js';

/**
 * `npm run bench`: starts the local stack in-process, measures Postbox and a plain `ws` relay with the same
 * message counts and rates, and prints both with the AWS requests and cost per delivered message. Targets are
 * printed as PASS/MISS and never fail the run; only a failure to run exits non-zero.
 */
const program = new Command('bench')
  .description('Throughput, latency, AWS requests and cost per delivered message, beside a plain ws relay')
  .option('--messages <n>', 'messages for the 1 → 1 throughput run', positive, 10_000)
  .option('--fan-out-messages <n>', 'messages for the 1 → many run (default: messages / 10)', positive)
  .option('--subscribers <n>', 'subscribers of the fan-out topic', positive, 100)
  .option('--latency-messages <n>', 'messages for the latency run', positive, 2_000)
  .option('--low-rate-messages <n>', 'messages for the one-at-a-time run (the low-rate cost)', positive, 200)
  .option('--jobs <n>', 'jobs for the work-queue run (Postbox only: the relay has no work queues)', positive, 1_000)
  .option('--consumers <n>', 'consumers of the work-queue run', positive, 3)
  .option('--prefetch <n>', "each consumer's prefetch in the work-queue run", positive, 10)
  .option('--rate <n>', 'offered rate of the latency run, msg/s', positive, 200)
  .option('--window <n>', 'most publishes awaiting their accepted reply', positive, 8)
  .option('--payload-bytes <n>', 'size of each payload as JSON', positive, 256)
  .option('--concurrency <n>', 'instances per function the local runtime runs at once', positive, DEFAULT_INSTANCES)
  .option('--idle-timeout <ms>', 'a phase gives up after this long without progress', positive, 15_000)
  .option('--json', 'print the figures as JSON instead of a table')
  .parse();

interface Options {
  messages: number;
  fanOutMessages?: number;
  subscribers: number;
  latencyMessages: number;
  lowRateMessages: number;
  jobs: number;
  consumers: number;
  prefetch: number;
  rate: number;
  window: number;
  payloadBytes: number;
  idleTimeout: number;
  concurrency: number;
  json?: boolean;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

async function measure(target: Target, o: Options, fanOutMessages: number) {
  const common = { runId: Date.now().toString(36), payloadBytes: o.payloadBytes, idleMs: o.idleTimeout };
  const log = (what: string) => process.stderr.write(`bench: ${target.name}: ${what}\n`);
  // First, so that no other phase's checks (an ack deadline after its pushes) land in its bill; it waits for its own.
  log(`1 → 1 one at a time, ${o.lowRateMessages} messages`);
  const lowRate = await throughput(target, {
    ...common,
    label: 'low',
    messages: o.lowRateMessages,
    subscribers: 1,
    window: 1,
    lockstep: true,
    withChecks: true,
  });
  // Cold starts (a worker thread per Lambda instance locally) are not what a steady state measures.
  log(`warm-up, ${o.window * 4} messages`);
  await throughput(target, { ...common, label: 'warm', messages: o.window * 4, subscribers: 1, window: o.window });
  log(`1 → 1, ${o.messages} messages`);
  const oneToOne = await throughput(target, {
    ...common,
    label: 'a',
    messages: o.messages,
    subscribers: 1,
    window: o.window,
  });
  log(`latency, ${o.latencyMessages} messages at ${o.rate} msg/s`);
  const lat = await latency(target, { ...common, label: 'lat', messages: o.latencyMessages, rate: o.rate });
  log(`1 → ${o.subscribers}, ${fanOutMessages} messages`);
  const fanOut = await throughput(target, {
    ...common,
    label: 'b',
    messages: fanOutMessages,
    subscribers: o.subscribers,
    window: o.window,
  });
  log(`1 → 1 with batch publish, ${o.messages} messages`);
  const batched = await throughput(target, {
    ...common,
    label: 'e',
    messages: o.messages,
    subscribers: 1,
    window: o.window,
    batchPublish: true,
  });
  return { oneToOne, latency: lat, fanOut, lowRate, batched };
}

async function main(): Promise<void> {
  const o = program.opts<Options>();
  const fanOutMessages = o.fanOutMessages ?? Math.max(1, Math.floor(o.messages / 10));
  const started = performance.now();

  const relay = await startRelay();
  let relayResults: Awaited<ReturnType<typeof measure>>;
  try {
    relayResults = await measure(
      { name: 'ws relay', url: async (id) => relay.url(id), settleMs: 0 },
      o,
      fanOutMessages,
    );
  } finally {
    await relay.stop();
  }

  const postbox = await startPostbox(o.concurrency);
  let postboxResults: Awaited<ReturnType<typeof measure>>;
  let jobs: Awaited<ReturnType<typeof workQueue>>;
  try {
    postboxResults = await measure(postbox.target, o, fanOutMessages);
    process.stderr.write(`bench: Postbox: work queue, ${o.jobs} jobs, ${o.consumers} consumers\n`);
    jobs = await workQueue(postbox.target, {
      runId: Date.now().toString(36),
      payloadBytes: o.payloadBytes,
      idleMs: o.idleTimeout,
      label: 'f',
      jobs: o.jobs,
      consumers: o.consumers,
      prefetch: o.prefetch,
      window: o.window,
    });
  } finally {
    await postbox.stop();
  }

  const price = (r: (typeof postboxResults)['oneToOne']) =>
    costOf(r.tally ?? emptySnapshot(), r.deliveries, r.messagesIn, postbox.memoryMb);
  const results: BenchResults = {
    messages: o.messages,
    payloadBytes: o.payloadBytes,
    window: o.window,
    fanOutMessages,
    fanOutSubscribers: o.subscribers,
    latencyMessages: o.latencyMessages,
    latencyRate: o.rate,
    lambdaConcurrency: o.concurrency,
    durationMs: performance.now() - started,
    postbox: postboxResults,
    relay: relayResults,
    lowRateMessages: o.lowRateMessages,
    jobs,
    cost: {
      jobs: costOf(jobs.tally ?? emptySnapshot(), jobs.completed, jobs.messagesIn, postbox.memoryMb),
      oneToOne: price(postboxResults.oneToOne),
      fanOut: price(postboxResults.fanOut),
      lowRate: price(postboxResults.lowRate),
      batched: price(postboxResults.batched),
    },
  };
  if (o.json) process.stdout.write(`${JSON.stringify({ ...results, targets: targetsOf(results) }, null, 2)}\n`);
  else process.stdout.write(`${formatReport(results)}\n`);
}

main().then(
  () => {
    // Every socket and server is closed by now, so the process ends by itself; this only reports a leak.
    setTimeout(() => {
      process.stderr.write('bench: something was left open after the run; exiting anyway\n');
      process.exit(0);
    }, 10_000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`bench: could not run: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
