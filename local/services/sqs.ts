import { buildApp } from 'fauxqs';
import type { RequestObserver, Service } from './types.js';

/**
 * Embedded SQS (fauxqs). Built from `buildApp` rather than `startFauxqs` because the latter binds 0.0.0.0 and the
 * runtime listens on loopback only. Messages live in memory: a restart loses what SQS still held, never an inbox.
 */
export async function startSqs(host: string, observe?: RequestObserver): Promise<Service> {
  const app = buildApp({ logger: false });
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

/** `AmazonSQS.SendMessage` → `SendMessage` (the SDK speaks SQS's JSON protocol). */
function operationOf(target: string | string[] | undefined): string {
  return String(target ?? 'unknown')
    .split('.')
    .pop() as string;
}
