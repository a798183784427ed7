import type { CostReport } from './cost.js';
import type { JobsResult, LatencyResult, ThroughputResult } from './scenarios.js';
import { ratio } from './stats.js';

/** Everything one run measured: Postbox beside the plain relay. */
export interface BenchResults {
  messages: number;
  payloadBytes: number;
  window: number;
  fanOutMessages: number;
  fanOutSubscribers: number;
  latencyMessages: number;
  latencyRate: number;
  lowRateMessages: number;
  /** Lambda instances per function the local runtime may run. */
  lambdaConcurrency: number;
  durationMs: number;
  postbox: Measured;
  relay: Measured;
  /** (f) the work queue, Postbox only. */
  jobs: JobsResult;
  /** (a) at the default rate, (b) the fan-out, and one message at a time 1 → 1 (the low-rate cost). */
  cost: { oneToOne: CostReport; fanOut: CostReport; lowRate: CostReport; batched: CostReport; jobs: CostReport };
}

interface Measured {
  oneToOne: ThroughputResult;
  latency: LatencyResult;
  fanOut: ThroughputResult;
  lowRate: ThroughputResult;
  batched: ThroughputResult;
}

interface Target {
  text: string;
  pass: boolean;
}

/** The goals Postbox is held to locally; printed beside the measurements, never failing the run. */
export function targetsOf(r: BenchResults) {
  return {
    throughput: { text: '≥ 500/s', pass: r.postbox.oneToOne.ackedPerSecond >= 500 },
    p50: { text: '< 10 ms', pass: r.postbox.latency.latency.p50 < 10 },
    requests: { text: '≤ 2', pass: r.cost.oneToOne.requestsPerDelivered <= 2 },
    costOneToOne: { text: '≤ $2.00', pass: r.cost.oneToOne.usdPerMillion <= 2 },
    costFanOut: { text: '≤ $1.00', pass: r.cost.fanOut.usdPerMillion <= 1 },
    costBatched: { text: '≤ $2.00', pass: r.cost.batched.usdPerMillion <= 2 },
    requestsBatched: { text: '≤ 2', pass: r.cost.batched.requestsPerDelivered <= 2 },
    lostOneToOne: {
      text: '0',
      pass: r.postbox.oneToOne.lost + r.postbox.latency.lost + r.postbox.lowRate.lost + r.postbox.batched.lost === 0,
    },
    lostFanOut: { text: '0', pass: r.postbox.fanOut.lost === 0 },
    jobsOnce: { text: '0 lost, 0 twice', pass: r.jobs.lost === 0 && r.jobs.completedTwice === 0 },
  } satisfies Record<string, Target>;
}

/** A plain-text report: one table of measurements against the relay, then the AWS bill per delivered message. */
export function formatReport(r: BenchResults): string {
  const t = targetsOf(r);
  const { postbox: p, relay: q } = r;
  const rows: string[][] = [
    ['measurement', 'Postbox', 'ws relay', 'Postbox/relay', 'target', ''],
    section(`(a) 1 publisher → 1 subscriber, ${r.messages} messages, window ${r.window}`),
    rate('delivered-and-acked msg/s', p.oneToOne.ackedPerSecond, q.oneToOne.ackedPerSecond, t.throughput),
    num('elapsed s', p.oneToOne.elapsedMs / 1000, q.oneToOne.elapsedMs / 1000),
    num('CPU ms per delivery', cpuPerDelivery(p.oneToOne), cpuPerDelivery(q.oneToOne)),
    num('CPU cores busy', p.oneToOne.cpuMs / p.oneToOne.elapsedMs, q.oneToOne.cpuMs / q.oneToOne.elapsedMs),
    count(
      'accepted / acked',
      `${p.oneToOne.accepted} / ${p.oneToOne.acked}`,
      `${q.oneToOne.accepted} / ${q.oneToOne.acked}`,
    ),
    lostRow('lost', p.oneToOne.lost, q.oneToOne.lost, t.lostOneToOne),
    count('duplicated after ack', p.oneToOne.duplicatesAfterAck, q.oneToOne.duplicatesAfterAck),
    count('duplicated before ack', p.oneToOne.duplicatesBeforeAck, q.oneToOne.duplicatesBeforeAck),
    section(`(a) latency publish → receive, ${r.latencyMessages} messages offered at ${r.latencyRate} msg/s`),
    ms('p50 ms', p.latency.latency.p50, q.latency.latency.p50, t.p50),
    ms('p95 ms', p.latency.latency.p95, q.latency.latency.p95),
    ms('p99 ms', p.latency.latency.p99, q.latency.latency.p99),
    ms('max ms', p.latency.latency.max, q.latency.latency.max),
    lostRow('lost', p.latency.lost, q.latency.lost, t.lostOneToOne),
    count('duplicated after ack', p.latency.duplicatesAfterAck, q.latency.duplicatesAfterAck),
    section(`(b) 1 publisher → topic with ${r.fanOutSubscribers} subscribers, ${r.fanOutMessages} messages`),
    rate('deliveries/s (acked)', p.fanOut.ackedPerSecond, q.fanOut.ackedPerSecond),
    num('elapsed s', p.fanOut.elapsedMs / 1000, q.fanOut.elapsedMs / 1000),
    num('CPU ms per delivery', cpuPerDelivery(p.fanOut), cpuPerDelivery(q.fanOut)),
    count('deliveries', p.fanOut.deliveries, q.fanOut.deliveries),
    lostRow('lost', p.fanOut.lost, q.fanOut.lost, t.lostFanOut),
    count('duplicated after ack', p.fanOut.duplicatesAfterAck, q.fanOut.duplicatesAfterAck),
    count('duplicated before ack', p.fanOut.duplicatesBeforeAck, q.fanOut.duplicatesBeforeAck),
    section(
      `(e) as (a), the publisher batching what waits while a publish is in flight (≤ 10 a frame), as an SDK would`,
    ),
    rate('delivered-and-acked msg/s', p.batched.ackedPerSecond, q.batched.ackedPerSecond),
    lostRow('lost', p.batched.lost, q.batched.lost, t.lostOneToOne),
    count('duplicated after ack', p.batched.duplicatesAfterAck, q.batched.duplicatesAfterAck),
    section(`(d) 1 → 1 one message at a time, ${r.lowRateMessages} messages`),
    rate('delivered-and-acked msg/s', p.lowRate.ackedPerSecond, q.lowRate.ackedPerSecond),
    lostRow('lost', p.lowRate.lost, q.lowRate.lost, t.lostOneToOne),
    section(
      `(f) work queue: 1 producer → ${r.jobs.consumers} consumers (prefetch ${r.jobs.prefetch}), ${r.jobs.enqueued} jobs (Postbox only)`,
    ),
    ['completed jobs/s', fixed(r.jobs.completedPerSecond, 0), '', '', '', ''],
    count('accepted / completed', `${r.jobs.accepted} / ${r.jobs.completed}`, ''),
    ['lost / completed twice', `${r.jobs.lost} / ${r.jobs.completedTwice}`, '', '', ...verdict(t.jobsOnce)],
    [
      'AWS requests per job / $ per million jobs',
      `${fixed(r.cost.jobs.requestsPerDelivered, 2)} / ${usd(r.cost.jobs.usdPerMillion)}`,
      '',
      '',
      '',
      '',
    ],
  ];
  const incomplete =
    [p, q].some((x) => [x.oneToOne, x.latency, x.fanOut, x.lowRate, x.batched].some((phase) => !phase.completed)) ||
    !r.jobs.finished;
  return [
    `Postbox benchmark: ${r.payloadBytes}-byte payloads, subscribers ack every 50 messages or 20 ms, loopback only`,
    '',
    table(rows),
    incomplete ? '\nA phase stopped after its idle timeout: what had not arrived by then is counted as lost.' : '',
    '',
    `(c) AWS requests and estimated cost per delivered message (Postbox, measured windows of (a), (b), (d), (e))`,
    '',
    table(costRows(r, t)),
    '',
    `(f) per completed job: ${r.cost.jobs.lines
      .filter((l) => l.perDelivered > 0)
      .map((l) => `${l.kind} ${fixed(l.perDelivered, 2)} (${usd(l.usdPerMillion)}/M)`)
      .join(', ')}; with its lease timers.`,
    '',
    'Assumptions: us-east-1 list prices (API Gateway $1.00/M messages per 32 KB, SQS $0.40/M per 64 KB chunk,',
    'Lambda $0.20/M + $0.0000133334/GB-s arm64, DynamoDB on-demand $0.625/M WRU, $0.125/M RRU); connection minutes',
    'left out as negligible for long-lived sockets; Lambda duration = local worker wall time (a rough proxy) at each',
    "function's template MemorySize; capacity units estimated from request bodies (writes ceil(KB) per item + 1 per",
    'index key carried, reads 0.5 per 4 KB, or 1 when strongly consistent); @connections posts are billed as API GW',
    'messages out; SQS requests include the local poller’s receives, whose rate differs from the AWS event source',
    'mapping’s. The check redeliver runs an ack deadline (30 s) after each push is in (d)’s bill (counted 31 s after its',
    'last push); in (a) and (b) only its SendMessageBatch is: its receive, invocation and Query land after the window.',
    `Local Lambda concurrency: ${r.lambdaConcurrency} instances per function (AWS: 1,000 per account); throttled`,
    `invocations (not billed): (a) ${p.oneToOne.tally?.throttled ?? 0}, (b) ${p.fanOut.tally?.throttled ?? 0}.`,
    '',
    `Run took ${(r.durationMs / 1000).toFixed(1)} s.`,
  ].join('\n');
}

function costRows(r: BenchResults, t: ReturnType<typeof targetsOf>): string[][] {
  const reports = [r.cost.oneToOne, r.cost.fanOut, r.cost.lowRate, r.cost.batched];
  const kinds = [...new Set(reports.flatMap((report) => report.lines.map((l) => l.kind)))];
  const find = (report: CostReport, kind: string) => report.lines.find((l) => l.kind === kind);
  const rows = [
    [
      'per delivered message',
      '(a) count',
      '(a) $/M',
      '(b) count',
      '(b) $/M',
      '(d) count',
      '(d) $/M',
      '(e) count',
      '(e) $/M',
    ],
  ];
  for (const kind of kinds) {
    rows.push([
      kind,
      ...reports.flatMap((report) => {
        const line = find(report, kind);
        return [fixed(line?.perDelivered ?? 0, 4), usd(line?.usdPerMillion ?? 0)];
      }),
    ]);
  }
  const verdict = (target: Target) => `${target.text}: ${target.pass ? 'PASS' : 'MISS'}`;
  rows.push(
    [
      `AWS requests ((a), (e) ${verdict(t.requests)}, ${t.requestsBatched.pass ? 'PASS' : 'MISS'})`,
      ...reports.flatMap((report) => [fixed(report.requestsPerDelivered, 3), '']),
    ],
    ['estimated cost per million delivered', ...reports.flatMap((report) => ['', usd(report.usdPerMillion)])],
    ['cost targets', '', verdict(t.costOneToOne), '', verdict(t.costFanOut), '', '', '', verdict(t.costBatched)],
  );
  return rows;
}

function section(title: string): string[] {
  return [title];
}

function verdict(target?: Target): string[] {
  return target ? [target.text, target.pass ? 'PASS' : 'MISS'] : ['', ''];
}

function rate(name: string, value: number, reference: number, target?: Target): string[] {
  return [name, fixed(value, 0), fixed(reference, 0), fixed(ratio(value, reference), 3), ...verdict(target)];
}

function ms(name: string, value: number, reference: number, target?: Target): string[] {
  return [name, fixed(value, 2), fixed(reference, 2), fixed(ratio(value, reference), 1), ...verdict(target)];
}

function num(name: string, value: number, reference: number): string[] {
  return [name, fixed(value, 2), fixed(reference, 2), fixed(ratio(value, reference), 1), '', ''];
}

function count(name: string, value: number | string, reference: number | string): string[] {
  return [name, String(value), String(reference), '', '', ''];
}

function lostRow(name: string, value: number, reference: number, target: Target): string[] {
  return [name, String(value), String(reference), '', ...verdict(target)];
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

function usd(value: number): string {
  return Number.isFinite(value) ? `$${value.toFixed(2)}` : '–';
}

/** Left-aligned first column, right-aligned others; a one-cell row is a section heading. */
function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    if (row.length === 1) continue;
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row.length === 1
        ? `${row[0]}`
        : row
            .map((cell, i) => (i === 0 ? `  ${cell.padEnd((widths[i] ?? 0) - 0)}` : cell.padStart(widths[i] ?? 0)))
            .join('  ')
            .trimEnd(),
    )
    .join('\n');
}

/** Process CPU (all threads, the benchmark's own clients included) per first receipt. */
function cpuPerDelivery(r: { cpuMs: number; deliveries: number }): number {
  return r.cpuMs / Math.max(1, r.deliveries);
}
