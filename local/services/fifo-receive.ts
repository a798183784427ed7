/**
 * fauxqs hands out at most one message per FIFO message group per ReceiveMessage, then locks the group until that
 * message is deleted. AWS returns several messages of one group in a single receive, in order (and so a Lambda
 * batch holds up to ten of one group) [LAMBDA-SQS-ARCH in shared/reference/aws-semantics.md]. Locally that made a
 * single publisher's stream one message per deliver invocation. This makes the embedded store's receive keep taking,
 * in order, from groups that this same receive locked; groups in flight elsewhere stay locked.
 *
 * fauxqs exports only `buildApp`, which accepts its SQS store (`options.stores.sqsStore`); the store's module is
 * loaded from the installed package by path, and the lock file pins the version this was written against.
 */

interface FifoQueueInternals {
  isFifo(): boolean;
  hasAvailableFifoMessages(): boolean;
  waitForMessages(waitTimeSeconds: number): Promise<void>;
  fifoLockedGroups: Map<string, number>;
  inflightMessages: Map<string, { message: { messageGroupId?: string } }>;
  dequeueFifo(
    maxCount: number,
    visibilityTimeout: number | undefined,
    dlqResolver: unknown,
  ): { ReceiptHandle: string }[];
}

interface StoreModule {
  SqsStore: new () => unknown;
  SqsQueue: { prototype: FifoQueueInternals };
}

let patched: Promise<StoreModule> | undefined;

/** A fauxqs SQS store whose FIFO receives take up to ten messages of one group, as AWS's do. */
export async function fifoFaithfulStore(): Promise<unknown> {
  patched ??= load();
  const { SqsStore } = await patched;
  return new SqsStore();
}

/** fauxqs's SQLite persistence (the one `startFauxqs({ dataDir })` uses), by path for the same reason as the store. */
export interface Persistence {
  loadSqsAndSns(sqsStore: unknown, snsStore: unknown): void;
  close(): void;
}

export async function sqlitePersistence(dataDir: string): Promise<{ persistence: Persistence; snsStore: unknown }> {
  const base = import.meta.resolve('fauxqs');
  const { PersistenceManager } = (await import(new URL('./persistence.js', base).href)) as {
    PersistenceManager: new (dir: string) => Persistence;
  };
  const { SnsStore } = (await import(new URL('./sns/snsStore.js', base).href)) as { SnsStore: new () => unknown };
  if (typeof PersistenceManager !== 'function' || typeof SnsStore !== 'function')
    throw new Error('fauxqs: PersistenceManager or SnsStore not found; check the pinned version');
  return { persistence: new PersistenceManager(dataDir), snsStore: new SnsStore() };
}

async function load(): Promise<StoreModule> {
  const module = (await import(new URL('./sqs/sqsStore.js', import.meta.resolve('fauxqs')).href)) as StoreModule;
  const original = module.SqsQueue.prototype.dequeueFifo;
  if (typeof original !== 'function')
    throw new Error('fauxqs: SqsQueue.dequeueFifo not found; check the pinned version');
  module.SqsQueue.prototype.dequeueFifo = function dequeueFifo(maxCount, visibilityTimeout, dlqResolver) {
    const count = Math.min(maxCount, 10);
    const lockedElsewhere = new Set(this.fifoLockedGroups.keys());
    /** Groups locked by this receive alone, with their lock counts. */
    const held = new Map<string, number>();
    const result: { ReceiptHandle: string }[] = [];
    while (result.length < count) {
      for (const group of held.keys()) this.fifoLockedGroups.delete(group);
      const got = original.call(this, count - result.length, visibilityTimeout, dlqResolver);
      for (const [group, n] of held) this.fifoLockedGroups.set(group, (this.fifoLockedGroups.get(group) ?? 0) + n);
      if (got.length === 0) break;
      for (const message of got) {
        const group = this.inflightMessages.get(message.ReceiptHandle)?.message.messageGroupId;
        if (group !== undefined && !lockedElsewhere.has(group)) held.set(group, (held.get(group) ?? 0) + 1);
      }
      result.push(...got);
    }
    return result;
  };
  // fauxqs wakes every long poll on each send and answers it with what one dequeue finds: on a FIFO queue whose only
  // new message is in a group in flight, that is nothing, long before the wait is over. AWS answers a long poll
  // when a message can be had or the wait ends; an early empty answer made each idle poller send a ReceiveMessage
  // per publish. So a FIFO queue's wait goes on until a group can give a message, or the wait time is up.
  const wait = module.SqsQueue.prototype.waitForMessages;
  if (typeof wait !== 'function')
    throw new Error('fauxqs: SqsQueue.waitForMessages not found; check the pinned version');
  module.SqsQueue.prototype.waitForMessages = async function waitForMessages(waitTimeSeconds) {
    const deadline = Date.now() + waitTimeSeconds * 1000;
    for (;;) {
      await wait.call(this, Math.max(0, deadline - Date.now()) / 1000);
      if (!this.isFifo() || this.hasAvailableFifoMessages() || Date.now() >= deadline) return;
    }
  };
  return module;
}
