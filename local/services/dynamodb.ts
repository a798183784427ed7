import { Worker } from 'node:worker_threads';
import type { RequestObserver, Service } from './types.js';

type ThreadMessage =
  | { type: 'listening'; port: number }
  | { type: 'error'; message: string }
  | { type: 'request'; operation: string; body: string };

/**
 * Embedded DynamoDB (dynalite), on its own thread. With a `dataDir` the tables live in LevelDB on disk, so
 * subscriptions and inboxes survive a restart; without one, in memory. Tables become ACTIVE at once.
 */
export async function startDynamoDb(host: string, dataDir?: string, observe?: RequestObserver): Promise<Service> {
  const worker = new Worker(new URL('./dynamodb-thread.ts', import.meta.url), {
    workerData: { host, dataDir, observe: observe !== undefined },
    // Node's own type stripping loads the thread; the parent's loaders (tsx, vitest) have no business there.
    execArgv: [],
  });
  worker.on('message', (message: ThreadMessage) => {
    if (message.type === 'request') observe?.({ service: 'dynamodb', ...message });
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.on('message', (message: ThreadMessage) => {
      if (message.type === 'listening') resolve(message.port);
      if (message.type === 'error') reject(new Error(message.message));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the DynamoDB thread exited with code ${code}`)));
  });
  return {
    endpoint: `http://${host}:${port}`,
    stop: async () => {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage({ type: 'stop' });
      // A thread that does not leave within 2 s is terminated; the timer must not hold the process open after.
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
      await worker.terminate();
    },
  };
}
