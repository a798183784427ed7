import { z } from 'zod';

/**
 * A work queue's settings. The stack gives every function the settings of any queue (`LEASE_SECONDS`,
 * `MAX_DELIVERIES`, `JOB_RETENTION_SECONDS`) and those of the queues it names (`QUEUE_SETTINGS`, JSON): a queue
 * needs no declaration, and no request reads them.
 */
export interface QueueSettings {
  /** A lease's length when it is given. */
  leaseSeconds: number;
  /** Leases a job gets at most; when the last one ends without an ack, the job is dead-lettered. */
  maxDeliveries: number;
  /** How long a job is kept, whatever its state, from its enqueue. */
  retentionSeconds: number;
}

/** `QUEUE_SETTINGS`: the named queues' settings, as the stack writes them. */
const queueSettingsSchema = z.record(
  z.string(),
  z
    .object({
      leaseSeconds: z.number().int().positive(),
      maxDeliveries: z.number().int().positive(),
      retentionSeconds: z.number().int().positive(),
    })
    .partial(),
);

export type NamedQueueSettings = z.infer<typeof queueSettingsSchema>;

/** The `QUEUE_SETTINGS` variable's value, read; none when the stack names no queue. */
export function namedQueueSettings(variable: string | undefined): NamedQueueSettings {
  return queueSettingsSchema.parse(JSON.parse(variable || '{}'));
}

/** One queue's settings: its own where the stack names it, the stack's otherwise. */
export function settingsOf(config: QueueSettings & { queues?: NamedQueueSettings }, queue: string): QueueSettings {
  const own = config.queues?.[queue] ?? {};
  return {
    leaseSeconds: own.leaseSeconds ?? config.leaseSeconds,
    maxDeliveries: own.maxDeliveries ?? config.maxDeliveries,
    retentionSeconds: own.retentionSeconds ?? config.retentionSeconds,
  };
}
