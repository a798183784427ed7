import { mkdirSync } from 'node:fs';
import dynalite from 'dynalite';
import { close, listen } from './listen.js';
import type { Service } from './types.js';

/**
 * Embedded DynamoDB (dynalite). With a `dataDir` the tables live in LevelDB on disk, so subscriptions and inboxes
 * survive a restart; without one, in memory. Tables become ACTIVE at once: nothing here waits like CloudFormation.
 */
export async function startDynamoDb(host: string, dataDir?: string): Promise<Service> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const server = dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await listen(server, 0, host);
  return { endpoint: `http://${host}:${port}`, stop: () => close(server) };
}
