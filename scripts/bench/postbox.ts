import { join } from 'node:path';
import { mintToken } from '../../functions/lib/token.js';
import { startLocal } from '../../local/index.js';
import { loadModel } from '../../local/template/index.js';
import { needsSynth, synthesize } from '../../local/template/synth.js';
import type { TableSchema } from './capacity.js';
import type { Target } from './scenarios.js';
import { Tally } from './tally.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CDK_OUT = join(ROOT, 'cdk.out');

/** The local stack, started in memory on a free port, as a benchmark target whose AWS requests are tallied. */
export interface Postbox {
  target: Target;
  /** Each function's MemorySize (MB) by the name the runtime reports invocations under. */
  memoryMb: Map<string, number>;
  stop(): Promise<void>;
}

export async function startPostbox(maxConcurrency: number): Promise<Postbox> {
  if (needsSynth(ROOT, CDK_OUT)) {
    process.stderr.write('bench: cdk.out is missing or older than the app; synthesizing it first\n');
    await synthesize(ROOT, CDK_OUT);
  }
  const model = loadModel(CDK_OUT);
  const memoryMb = new Map([...model.functions.values()].map((fn) => [fn.displayName, fn.memoryMb]));
  const tables = new Map([...model.tables.values()].map((table) => [table.name, schemaOf(table.properties)]));
  const tally = new Tally(tables);

  const local = await startLocal({
    port: 0,
    inMemory: true,
    cdkOut: CDK_OUT,
    observe: (request) => tally.onRequest(request),
    logSink: quietSink(),
    spyHistory: 0, // the tally subscribes; nothing reads the history back
    maxConcurrency,
    // One connection publishes faster than the default frame limit (100 a second) allows, as a stack built for
    // such a publisher would with frameRate { perSecond: 2000, burst: 4000 }; its count costs a write per 400 frames.
    environment: { FRAME_RATE: '2000', FRAME_BURST: '4000' },
  });
  local.spy.subscribe((event) => tally.onEvent(event));
  const secret = [...local.secretValues].find(([id]) => id.startsWith('TokenSecret'))?.[1];
  if (secret === undefined) {
    await local.stop();
    throw new Error('the local stack has no TokenSecret to sign connect tokens with');
  }
  return {
    target: {
      name: 'Postbox',
      url: async (clientId) => `ws://127.0.0.1:${local.port}/?token=${await mintToken(secret, clientId, '1h')}`,
      // $connect's catch-up comes 1 s after it; let it run before measuring.
      settleMs: 1_500,
      // The check after each push runs an ack deadline (30 s) later.
      checksAfterMs: 31_000,
      tally,
    },
    memoryMb,
    stop: () => local.stop(),
  };
}

/**
 * Function logs would drown the report (one line per message at INFO): only errors and failed invocations are
 * shown, the first 10 of them, on stderr.
 */
function quietSink(): (line: string) => void {
  let shown = 0;
  return (line) => {
    if (shown >= 10 || !/"level":"(ERROR|CRITICAL)"| failed: /.test(line)) return;
    shown += 1;
    process.stderr.write(`${line.slice(0, 300)}\n`);
  };
}

/** Key attribute names of an `AWS::DynamoDB::Table` and the sort keys of its local secondary indexes. */
function schemaOf(properties: Record<string, unknown>): TableSchema {
  type Key = { AttributeName: string; KeyType: 'HASH' | 'RANGE' };
  const keys = (properties.KeySchema ?? []) as Key[];
  const lsis = (properties.LocalSecondaryIndexes ?? []) as {
    IndexName: string;
    KeySchema: Key[];
    Projection?: { ProjectionType?: string };
  }[];
  return {
    hash: keys.find((k) => k.KeyType === 'HASH')?.AttributeName ?? '',
    range: keys.find((k) => k.KeyType === 'RANGE')?.AttributeName,
    lsiKeys: lsis.flatMap((lsi) => lsi.KeySchema.filter((k) => k.KeyType === 'RANGE').map((k) => k.AttributeName)),
    lsis: lsis.map((lsi) => ({ name: lsi.IndexName, keysOnly: lsi.Projection?.ProjectionType === 'KEYS_ONLY' })),
  };
}
