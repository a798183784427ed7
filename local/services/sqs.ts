import { buildApp } from 'fauxqs';
import type { Service } from './types.js';

/**
 * Embedded SQS (fauxqs). Built from `buildApp` rather than `startFauxqs` because the latter binds 0.0.0.0 and the
 * runtime listens on loopback only. Messages live in memory: a restart loses what SQS still held, never an inbox.
 */
export async function startSqs(host: string): Promise<Service> {
  const app = buildApp({ logger: false });
  const endpoint = await app.listen({ port: 0, host });
  return { endpoint, stop: () => app.close() };
}
