import { mkdirSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import dynalite from 'dynalite';
import { close, listen } from './listen.js';
import { operationOf } from './sqs.js';
import type { RequestObserver, Service } from './types.js';

/**
 * Embedded DynamoDB (dynalite). With a `dataDir` the tables live in LevelDB on disk, so subscriptions and inboxes
 * survive a restart; without one, in memory. Tables become ACTIVE at once: nothing here waits like CloudFormation.
 */
export async function startDynamoDb(host: string, dataDir?: string, observe?: RequestObserver): Promise<Service> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const server = dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  if (observe) {
    // Registered first, so the body is read alongside dynalite's own reader without taking it away.
    server.prependListener('request', (req: IncomingMessage) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () =>
        observe({
          service: 'dynamodb',
          operation: operationOf(req.headers['x-amz-target']),
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
  }
  const port = await listen(server, 0, host);
  return { endpoint: `http://${host}:${port}`, stop: () => close(server) };
}
