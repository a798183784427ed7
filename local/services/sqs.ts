import { buildApp } from 'fauxqs';
import { fifoFaithfulStore, sqlitePersistence } from './fifo-receive.js';
import type { RequestObserver, Service } from './types.js';

interface PersistentStore {
  persistence?: unknown;
  allQueues(): { persistence?: unknown }[];
}

/**
 * Embedded SQS (fauxqs). Built from `buildApp` rather than `startFauxqs` because the latter binds 0.0.0.0 and the
 * runtime listens on loopback only. With `dataDir`, it does what `startFauxqs({ dataDir })` does: every message is
 * written to SQLite (`<dataDir>/fauxqs.db`, WAL) before SendMessage answers, so one the handlers were told is
 * queued survives a kill; in-flight messages come back after their visibility timeout. Without it, in memory.
 */
export async function startSqs(host: string, observe?: RequestObserver, dataDir?: string): Promise<Service> {
  const sqsStore = (await fifoFaithfulStore()) as PersistentStore;
  // buildApp makes whichever store it is not given; its type asks for all three.
  const stores = { sqsStore } as unknown as Stores;
  let close = () => {};
  if (dataDir) {
    const { persistence, snsStore } = await sqlitePersistence(dataDir);
    // Loaded before the store is given its persistence, as startFauxqs does, so loading writes nothing back.
    persistence.loadSqsAndSns(sqsStore, snsStore);
    sqsStore.persistence = persistence;
    for (const queue of sqsStore.allQueues()) queue.persistence = persistence;
    Object.assign(stores, { snsStore });
    close = () => persistence.close();
  }
  const app = buildApp({ logger: false, stores });
  app.addHook('preClose', async () => close());
  if (observe) {
    app.addHook('preHandler', async (request) => {
      observe({
        service: 'sqs',
        operation: operationOf(request.headers['x-amz-target']),
        body: JSON.stringify(request.body),
      });
    });
  }
  const endpoint = await app.listen({ port: 0, host });
  return { endpoint, stop: () => app.close() };
}

type Stores = NonNullable<NonNullable<Parameters<typeof buildApp>[0]>['stores']>;

/** `AmazonSQS.SendMessage` → `SendMessage` (the SDK speaks SQS's JSON protocol). */
function operationOf(target: string | string[] | undefined): string {
  return String(target ?? 'unknown')
    .split('.')
    .pop() as string;
}
