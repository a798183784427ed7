import { buildApp } from 'fauxqs';
import { fifoFaithfulStore } from './fifo-receive.js';
import type { RequestObserver, Service } from './types.js';

/**
 * Embedded SQS (fauxqs). Built from `buildApp` rather than `startFauxqs` because the latter binds 0.0.0.0 and the
 * runtime listens on loopback only. Messages live in memory: a restart loses what SQS still held, never an inbox.
 */
export async function startSqs(host: string, observe?: RequestObserver): Promise<Service> {
  // buildApp makes whichever store it is not given; its type asks for all three.
  const stores = { sqsStore: await fifoFaithfulStore() } as unknown as Stores;
  const app = buildApp({ logger: false, stores });
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
