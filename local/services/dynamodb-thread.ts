/**
 * dynalite on a thread of its own. It is the busiest embedded service (LevelDB in JavaScript): sharing the main
 * thread with the gateway, fauxqs and the SQS pollers made every request wait behind the others. Loaded by Node's
 * type stripping, so it imports nothing of the project's own.
 */
import { mkdirSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

const { host, dataDir, observe } = workerData as { host: string; dataDir?: string; observe: boolean };
if (dataDir) mkdirSync(dataDir, { recursive: true });
const server = dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });

if (observe) {
  // Registered first, so the body is read alongside dynalite's own reader without taking it away.
  server.prependListener('request', (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target'] ?? 'unknown')
        .split('.')
        .pop();
      parentPort?.postMessage({ type: 'request', operation, body: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

server.once('error', (err) => parentPort?.postMessage({ type: 'error', message: err.message }));
server.listen(0, host, () =>
  parentPort?.postMessage({ type: 'listening', port: (server.address() as AddressInfo).port }),
);

parentPort?.on('message', (message: { type: string }) => {
  if (message.type !== 'stop') return;
  server.closeAllConnections();
  server.close(() => parentPort?.close());
});
