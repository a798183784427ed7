import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { mintToken } from '../functions/lib/token.js';
import { clientAssets } from './client-assets.js';
import { type LocalStack, startLocal } from './index.js';
import { DEFAULT_INSTANCES } from './lambda/runtime.js';
import { assertDataDirFree, DataDirInUseError } from './services/index.js';
import { TemplateError, UnsupportedResourceError } from './template/errors.js';
import { referencesOfType } from './template/references.js';
import { needsSynth, SynthError, synthesize } from './template/synth.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface CliOptions {
  port: number;
  dataDir: string;
  inMemory?: boolean;
  backend: 'embedded' | 'localstack';
  stack?: string[];
  cdkOut: string;
  synth: boolean;
  concurrency: number;
}

const program = new Command('postbox-local')
  .description('Runs the synthesized CDK app locally: WebSocket gateway, Lambda functions, SQS, DynamoDB, no Docker.')
  .addOption(
    new Option('--port <port>', 'gateway port (0 = any free port)').env('PORT').argParser(parsePort).default(3001),
  )
  .option('--data-dir <dir>', 'where SQS messages, DynamoDB data and secrets persist between runs', '.postbox')
  .option('--in-memory', 'keep nothing between runs')
  .addOption(
    new Option('--backend <backend>', 'where SQS and DynamoDB run')
      .env('POSTBOX_BACKEND')
      .choices(['embedded', 'localstack'])
      .default('embedded'),
  )
  .addOption(
    new Option('--concurrency <n>', 'instances per function; further invocations wait for a free one')
      .argParser((v) => parseCount(v))
      .default(DEFAULT_INSTANCES),
  )
  .option('--stack <names...>', 'stacks to run together, by id or display name (default: every stack in the assembly)')
  .option('--cdk-out <dir>', "cloud assembly to run; one not this app's own is never synthesized", 'cdk.out')
  .option('--no-synth', 'run cdk.out as it is, even if the app changed since it was synthesized')
  .action((options: CliOptions) => run(options));

async function run(options: CliOptions): Promise<void> {
  let local: LocalStack;
  const cdkOut = resolve(options.cdkOut);
  // Only Postbox's own assembly is synthesized from this app: any other folder is another app's, run as it is.
  const own = cdkOut === resolve(projectRoot, 'cdk.out');
  try {
    // Before synthesizing: a second npm start must not rewrite the cdk.out the first one runs.
    if (!options.inMemory) assertDataDirFree(resolve(options.dataDir));
    if (options.synth && own && needsSynth(projectRoot, cdkOut)) {
      console.log('Synthesizing the CDK app (infra/ changed since cdk.out was written)...');
      await synthesize(projectRoot, cdkOut);
    }
    local = await startLocal({
      ...options,
      cdkOut,
      dataDir: resolve(options.dataDir),
      maxConcurrency: options.concurrency,
      spyHistory: 0,
      // Postbox's browser SDK and demo, on the gateway's port: only for Postbox's own app, not another's cdk.out.
      assets: own ? await clientAssets(projectRoot) : undefined,
    });
  } catch (err) {
    console.error(explain(err, options));
    process.exit(1);
  }
  const { sqs, dynamodb } = local.endpoints;
  console.log(`Postbox local stack ready at ${local.url} (SQS ${sqs}, DynamoDB ${dynamodb})`);
  await printDemoTokens(local, own);

  let stopping = false;
  const shutdown = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    await local.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

/** Two clients to try the stack with, signed with the key the `$connect` authorizer verifies tokens with. */
async function printDemoTokens(local: LocalStack, withDemo: boolean): Promise<void> {
  const secret = tokenSecret(local);
  if (secret === undefined) return;
  console.log('Demo clients (tokens valid for 1 h):');
  for (const client of ['alice', 'bob']) {
    const token = await mintToken(secret, client);
    console.log(`  ${client.padEnd(5)} npx wscat -c "${local.url}/?token=${token}"`);
  }
  if (withDemo) {
    console.log('Browser demo (the SDK is served at /postbox.js):');
    for (const client of ['alice', 'bob']) {
      const token = await mintToken(secret, client);
      console.log(`  ${client.padEnd(5)} ${local.httpUrl}/demo?topic=pickup&token=${token}`);
    }
  }
}

function tokenSecret(local: LocalStack): string | undefined {
  const { model, secretValues } = local;
  const authorizer = model.api?.gateway.routes.get('$connect')?.authorizer;
  const fn = authorizer && model.functions.get(authorizer.functionId);
  const [id] = fn ? referencesOfType(model.template, fn.environment, 'AWS::SecretsManager::Secret') : [];
  if (id) return secretValues.get(id);
  return secretValues.size === 1 ? [...secretValues.values()][0] : undefined;
}

/** One sentence: what went wrong and what to do about it. */
function explain(err: unknown, options: CliOptions): string {
  const code = (err as { code?: string }).code;
  if (code === 'EADDRINUSE') {
    return `Port ${options.port} is already in use: stop the program using it, or start on another port with --port (or PORT).`;
  }
  if (err instanceof DataDirInUseError) {
    return `Another npm start (pid ${err.pid}) is using ${err.dataDir}: stop it first, or give this one its own folder with --data-dir (or --in-memory).`;
  }
  if (err instanceof SynthError) {
    return `The CDK app did not synthesize (${err.message}): fix it, check with \`npx cdk synth\`, then run npm start again.`;
  }
  if (err instanceof UnsupportedResourceError) {
    return `The stack uses something the local runtime cannot run (${err.message}): remove it from the stack, or run the stack on AWS.`;
  }
  if (err instanceof TemplateError) return `Cannot read the synthesized app: ${err.message}.`;
  if (code === 'ECONNREFUSED' && options.backend === 'localstack') {
    return 'LocalStack is not reachable at http://localhost:4566: start it with `docker compose up`, or use --backend embedded.';
  }
  return `The local stack could not start: ${(err as Error).message ?? String(err)}.`;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('not a port number');
  return port;
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('not a positive whole number');
  return n;
}

await program.parseAsync();
