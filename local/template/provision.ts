import {
  type Clients,
  clientsFor,
  createQueue,
  createSecret,
  createTable,
  type ServiceEndpoints,
} from '../services/index.js';
import { resolve } from './intrinsics.js';
import { resolveContext } from './model.js';
import { unsupportedValue } from './support.js';
import type { QueueModel, TemplateModel } from './types.js';

export interface Provisioned {
  /** Secret values by logical id, as created (or found, on a restart over the same data folder). */
  secretValues: Map<string, string>;
  /** Things worth telling the user (e.g. a TTL the emulator does not enforce). */
  notes: string[];
}

/**
 * Creates the stack's queues, tables and secrets in the services, in dependency order (a dead-letter queue before
 * the queue that names it, as CloudFormation orders them), and records their URLs and ARNs in `model.physical`.
 */
export async function provision(model: TemplateModel, endpoints: ServiceEndpoints): Promise<Provisioned> {
  const clients = clientsFor(endpoints);
  try {
    return await createAll(model, clients);
  } finally {
    for (const client of Object.values(clients)) client.destroy();
  }
}

async function createAll(model: TemplateModel, clients: Clients): Promise<Provisioned> {
  const ctx = resolveContext(model);
  const propsOf = (logicalId: string, properties: Record<string, unknown>) => {
    try {
      return resolve(properties, ctx) as Record<string, unknown>;
    } catch (err) {
      throw unsupportedValue(logicalId, model.template, 'Properties', (err as Error).message);
    }
  };
  const notes = new Set<string>();
  for (const queue of dependencyOrder(model.queues)) {
    const created = await createQueue(clients.sqs, queue.name, propsOf(queue.logicalId, queue.properties));
    model.physical.set(queue.logicalId, {
      ref: created.url,
      attributes: { Arn: created.arn, QueueName: queue.name, QueueUrl: created.url },
    });
  }
  for (const table of model.tables.values()) {
    const said = await createTable(clients.dynamodb, table.name, propsOf(table.logicalId, table.properties));
    for (const note of said) notes.add(note);
  }
  const secretValues = new Map<string, string>();
  for (const secret of model.secrets.values()) {
    const created = await createSecret(
      clients.secretsManager,
      secret.name,
      propsOf(secret.logicalId, secret.properties),
    );
    model.physical.set(secret.logicalId, { ref: created.arn, attributes: { Id: created.arn } });
    secretValues.set(secret.logicalId, created.value);
  }
  return { secretValues, notes: [...notes] };
}

function dependencyOrder(queues: Map<string, QueueModel>): QueueModel[] {
  const ordered: QueueModel[] = [];
  const visit = (queue: QueueModel, seen: Set<string>) => {
    if (ordered.includes(queue) || seen.has(queue.logicalId)) return;
    seen.add(queue.logicalId);
    const dlq = queue.redrive && queues.get(queue.redrive.deadLetterQueueId);
    if (dlq) visit(dlq, seen);
    ordered.push(queue);
  };
  for (const queue of queues.values()) visit(queue, new Set());
  return ordered;
}
