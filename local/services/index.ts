import { join } from 'node:path';
import { startDynamoDb } from './dynamodb.js';
import { lockDataDir } from './lock.js';
import { startSecretsManager } from './secrets-manager.js';
import { startSqs } from './sqs.js';
import type { RequestObserver, Service } from './types.js';

export { assertDataDirFree, DataDirInUseError } from './lock.js';
export type { Clients, ServiceEndpoints } from './provision.js';
export { clientsFor, createQueue, createSecret, createTable, sqsClientFor } from './provision.js';
export { recordSecret } from './secrets-manager.js';
export type { ObservedRequest, RequestObserver } from './types.js';

export interface StartServicesOptions {
  /** `embedded` starts fauxqs, dynalite and a Secrets Manager stand-in in-process; `localstack` uses an endpoint. */
  backend?: 'embedded' | 'localstack';
  /** @default 'http://localhost:4566' */
  localstackEndpoint?: string;
  /** Where SQS messages, DynamoDB data and secrets are kept between runs; omitted = in memory. */
  dataDir?: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 'us-east-1' */
  region?: string;
  /** Called with every request the embedded services answer, for counting (the benchmark's AWS request tally). */
  observe?: RequestObserver;
}

export interface Services {
  sqs: string;
  dynamodb: string;
  secretsManager: string;
  region: string;
  /**
   * The file holding local secrets (ARN → value), when kept on disk. The embedded Secrets Manager writes it itself;
   * with LocalStack the runtime calls `recordSecret` after creating a secret there, so `npm run token -- --local` works.
   */
  secretsFile?: string;
  stop(): Promise<void>;
}

/** Starts (or, for LocalStack, points at) the services the template's resources live in. */
export async function startServices(options: StartServicesOptions = {}): Promise<Services> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const secretsFile = options.dataDir ? join(options.dataDir, 'secrets.json') : undefined;
  if (options.backend === 'localstack') {
    const endpoint = options.localstackEndpoint ?? 'http://localhost:4566';
    return { sqs: endpoint, dynamodb: endpoint, secretsManager: endpoint, region, secretsFile, stop: async () => {} };
  }
  const started: Service[] = [];
  if (options.dataDir) {
    const release = lockDataDir(options.dataDir);
    started.push({ endpoint: '', stop: async () => release() });
  }
  try {
    const sqs = await startSqs(host, options.observe, options.dataDir && join(options.dataDir, 'sqs'));
    started.push(sqs);
    const dynamodb = await startDynamoDb(host, options.dataDir && join(options.dataDir, 'dynamodb'), options.observe);
    started.push(dynamodb);
    const secrets = await startSecretsManager(host, secretsFile);
    started.push(secrets);
    return {
      sqs: sqs.endpoint,
      dynamodb: dynamodb.endpoint,
      secretsManager: secrets.endpoint,
      region,
      secretsFile,
      stop: () => stopAll(started),
    };
  } catch (err) {
    await stopAll(started);
    throw err;
  }
}

async function stopAll(services: Service[]): Promise<void> {
  for (const service of services.reverse()) await service.stop();
}
