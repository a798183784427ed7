import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { Command } from 'commander';
import type { JobsConfig } from '../functions/lib/jobs.js';
import { namedQueueSettings } from '../functions/lib/queue-settings.js';
import { readRuntimeInfo } from '../local/runtime-info.js';
import { loadModels, resolveContext, resolveEnvironment } from '../local/template/index.js';

/** A failure the user can fix; printed as one sentence, without a stack trace. */
export class QueueScriptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueScriptError';
  }
}

interface Target {
  jobsTable: string;
  pushQueueUrl: string;
  callbackUrl: string;
  /** AWS_* variables the SDK clients must see before they are built. */
  env: Record<string, string>;
  /** The queues' settings as the stack's functions have them (a redrive's dispatch leases with them). */
  settings: QueueSettingsOfStack;
}

type QueueSettingsOfStack = Pick<JobsConfig, 'leaseSeconds' | 'maxDeliveries' | 'retentionSeconds' | 'queues'>;
const DEFAULT_SETTINGS: QueueSettingsOfStack = { leaseSeconds: 30, maxDeliveries: 5, retentionSeconds: 1_209_600 };

/**
 * The running `npm start`'s tables and endpoints, as its functions see them: resolved from the same stacks of the
 * same assembly (all of them, or those it was given with `--stack`), imports across them included.
 */
export function localTarget(dataDir: string): Target {
  const info = readRuntimeInfo(dataDir);
  if (!info) throw new QueueScriptError(`No npm start is running on ${dataDir}: start it first (or give --data-dir).`);
  const models = loadModels(
    info.cdkOut,
    info.stacks.map((s) => s.name),
  );
  for (const model of models) {
    const running = info.stacks.find((s) => s.name === model.stackName);
    for (const [id, value] of running?.physical ?? []) model.physical.set(id, value);
  }
  const api = models.find((m) => m.api)?.api;
  const owner = models.find((m) => [...m.functions.values()].some((f) => 'JOBS_TABLE' in f.environment));
  const fn = owner && [...owner.functions.values()].find((f) => 'JOBS_TABLE' in f.environment);
  if (!owner || !fn || !api) throw new QueueScriptError(`The app in ${info.cdkOut} has no work queues.`);
  const env = resolveEnvironment(fn, resolveContext(owner), {
    apiId: api.gateway.apiId,
    gatewayBaseUrl: info.httpUrl,
  });
  return {
    jobsTable: env.JOBS_TABLE as string,
    pushQueueUrl: env.PUSH_QUEUE_URL as string,
    callbackUrl: env.CALLBACK_URL as string,
    settings: {
      leaseSeconds: Number(env.LEASE_SECONDS ?? DEFAULT_SETTINGS.leaseSeconds),
      maxDeliveries: Number(env.MAX_DELIVERIES ?? DEFAULT_SETTINGS.maxDeliveries),
      retentionSeconds: Number(env.JOB_RETENTION_SECONDS ?? DEFAULT_SETTINGS.retentionSeconds),
      queues: namedQueueSettings(env.QUEUE_SETTINGS),
    },
    env: {
      AWS_REGION: info.region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_SQS: info.sqs,
      AWS_ENDPOINT_URL_DYNAMODB: info.dynamodb,
    },
  };
}

/** A deployed stack's tables and endpoints, from its outputs; credentials and region as the SDK finds them. */
export async function stackTarget(stackName: string, region?: string): Promise<Target> {
  let outputs: Record<string, string>;
  try {
    const { Stacks } = await new CloudFormationClient({ region }).send(
      new DescribeStacksCommand({ StackName: stackName }),
    );
    outputs = Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (err) {
    throw new QueueScriptError(
      `Could not describe stack ${stackName} (${(err as Error).message}): check the name, credentials and region, or use --local.`,
    );
  }
  const { JobsTableName, PushQueueUrl, CallbackUrl } = outputs;
  if (!JobsTableName || !PushQueueUrl || !CallbackUrl)
    throw new QueueScriptError(
      `Stack ${stackName} has no JobsTableName, PushQueueUrl and CallbackUrl outputs: deploy this version first.`,
    );
  return {
    jobsTable: JobsTableName,
    pushQueueUrl: PushQueueUrl,
    callbackUrl: CallbackUrl,
    env: region ? { AWS_REGION: region } : {},
    // A stack deployed before the output existed had only the defaults.
    settings: outputs.WorkQueueSettings ? JSON.parse(outputs.WorkQueueSettings) : DEFAULT_SETTINGS,
  };
}

const jobsCount = (n: number, kind = '') => `${n} ${kind}job${n === 1 ? '' : 's'}`;

type JobsModule = typeof import('../functions/lib/jobs.js');

interface Options {
  local: boolean;
  dataDir: string;
  stack: string;
  region?: string;
  json: boolean;
}

/**
 * The dead letters of a work queue: list, redrive, purge. A command rather than an admin frame: it works the same
 * against `npm start` and a deployed stack with the operator's own credentials (IAM), and needs no capability that
 * a leaked client token could carry.
 */
export function program(print: (line: string) => void): Command {
  const withTarget =
    (run: (jobs: JobsModule, config: JobsConfig, queue: string, ids: string[]) => Promise<void>) =>
    async (queue: string, ids?: unknown) => {
      const options = opts();
      const named = Array.isArray(ids) ? (ids as string[]) : [];
      const target = options.local
        ? localTarget(resolve(options.dataDir))
        : await stackTarget(options.stack, options.region);
      Object.assign(process.env, target.env);
      // Imported only now: the SDK clients read the endpoints from the environment when they are built.
      const jobs = await import('../functions/lib/jobs.js');
      const config: JobsConfig = {
        jobsTable: target.jobsTable,
        pushQueueUrl: target.pushQueueUrl,
        callbackUrl: target.callbackUrl,
        ...target.settings,
        consumerTtlSeconds: 7500,
      };
      await run(jobs, config, queue, named);
    };
  const command = new Command()
    .name('npm run queue --')
    .description("A work queue's dead jobs: list them, bring them back (redrive), or delete them (purge).")
    .option('--local', 'the running npm start (also POSTBOX_LOCAL=1)', process.env.POSTBOX_LOCAL === '1')
    .option('--data-dir <dir>', 'the local runtime’s data folder', '.postbox')
    .option('--stack <name>', 'the deployed stack', 'Postbox')
    .option('--region <region>', 'AWS region of the stack (default: the SDK’s usual resolution)')
    .option('--json', 'print JSON', false);
  const opts = () => command.opts<Options>();
  command
    .command('dead')
    .argument('<queue>')
    .description('lists the dead jobs, oldest death first')
    .action(
      withTarget(async (jobs, config, queue) => {
        const dead = await jobs.deadJobs(config, queue);
        if (opts().json) return print(JSON.stringify(dead));
        if (dead.length === 0) return print(`No dead jobs in ${queue}.`);
        for (const job of dead)
          print(
            `${job.id}  attempts ${job.attempts}  died ${job.diedAt}  ${job.lastError ?? ''}  ${JSON.stringify(job.payload)}`,
          );
      }),
    );
  command
    .command('redrive')
    .argument('<queue>')
    .argument('[ids...]', 'the jobs to bring back (default: all dead jobs of the queue)')
    .description('makes dead jobs ready again, with their deliveries counted afresh, and offers them')
    .action(
      withTarget(async (jobs, config, queue, ids) => {
        const count = await jobs.redrive(config, queue, ids.length > 0 ? ids : undefined);
        print(opts().json ? JSON.stringify({ redriven: count }) : `Redrove ${jobsCount(count)} of ${queue}.`);
      }),
    );
  command
    .command('purge')
    .argument('<queue>')
    .argument('[ids...]', 'the jobs to delete (default: all dead jobs of the queue)')
    .description('deletes dead jobs for good')
    .action(
      withTarget(async (jobs, config, queue, ids) => {
        const count = await jobs.purgeDead(config, queue, ids.length > 0 ? ids : undefined);
        print(opts().json ? JSON.stringify({ purged: count }) : `Purged ${jobsCount(count, 'dead ')} of ${queue}.`);
      }),
    );
  return command;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  program((line) => console.log(line))
    .parseAsync()
    .then(() => process.exit(0))
    .catch((err: unknown) => {
      console.error(err instanceof QueueScriptError ? err.message : err);
      process.exit(1);
    });
}
