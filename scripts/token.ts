import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Command } from 'commander';
import { type Capabilities, capabilitiesFromAllows } from '../functions/lib/capabilities.js';
import { mintToken } from '../functions/lib/token.js';

/** A failure the user can fix; printed as one sentence, without a stack trace. */
export class TokenScriptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenScriptError';
  }
}

/** The stack output naming the signing key's secret (infra/postbox-stack.ts). */
export const SECRET_OUTPUT = 'TokenSecretArn';

/**
 * Reads the signing key from the local runtime's secrets file (`{ "<ARN or name>": "<SecretString>" }`).
 * With several secrets, `secretId` (an ARN or a name) chooses; otherwise the single one whose id mentions
 * `TokenSecret` (the stack's construct id) is used.
 */
export function readLocalSecret(file: string, secretId?: string): string {
  if (!existsSync(file)) {
    throw new TokenScriptError(
      `No local secrets at ${file}: run \`npm start\` first so the local runtime creates the key.`,
    );
  }
  const secrets = parseSecrets(file);
  const ids = Object.keys(secrets);
  if (ids.length === 0) {
    throw new TokenScriptError(
      `${file} holds no secret yet: run \`npm start\` first so the local runtime creates the key.`,
    );
  }
  const chosen = secretId ? ids.filter((id) => id === secretId || secretName(id) === secretId) : pickTokenSecret(ids);
  if (chosen.length !== 1) {
    const why = secretId ? `none is "${secretId}"` : 'choose one with --secret';
    throw new TokenScriptError(`${file} holds ${ids.length} secrets and ${why}: ${ids.join(', ')}.`);
  }
  return secrets[chosen[0] as string] as string;
}

/** Reads the signing key of a deployed stack: its `TokenSecretArn` output, then that secret's value. */
export async function readStackSecret(stackName: string, region?: string): Promise<string> {
  const cloudFormation = new CloudFormationClient({ region });
  let arn: string | undefined;
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    arn = Stacks?.[0]?.Outputs?.find((output) => output.OutputKey === SECRET_OUTPUT)?.OutputValue;
  } catch (err) {
    throw new TokenScriptError(
      `Could not describe stack ${stackName} (${explain(err)}): check the stack name, AWS credentials and region, or use --local.`,
    );
  }
  if (!arn) throw new TokenScriptError(`Stack ${stackName} has no ${SECRET_OUTPUT} output: is it a Postbox stack?`);

  const secretsManager = new SecretsManagerClient({ region });
  try {
    const { SecretString } = await secretsManager.send(new GetSecretValueCommand({ SecretId: arn }));
    if (!SecretString) throw new TokenScriptError(`Secret ${arn} has no SecretString.`);
    return SecretString;
  } catch (err) {
    if (err instanceof TokenScriptError) throw err;
    throw new TokenScriptError(`Could not read secret ${arn} (${explain(err)}).`);
  }
}

/** Mints the token, turning jose's complaint about a bad time span into a sentence about `--ttl`. */
export async function mint(secret: string, clientId: string, ttl: string, allow: string[] = []): Promise<string> {
  if (clientId.trim().length === 0) throw new TokenScriptError('The clientId must not be empty.');
  let caps: Capabilities | undefined;
  try {
    if (allow.length > 0) caps = capabilitiesFromAllows(allow);
  } catch (err) {
    throw new TokenScriptError((err as Error).message);
  }
  try {
    return await mintToken(secret, clientId, ttl, { caps });
  } catch (err) {
    // jose throws a TypeError for a span it cannot parse ("Invalid time period format").
    if (err instanceof TypeError) {
      throw new TokenScriptError(`--ttl "${ttl}" is not a time span such as 30m, 1h or 7d.`);
    }
    throw err;
  }
}

interface Options {
  ttl: string;
  local: boolean;
  dataDir: string;
  secret?: string;
  stack: string;
  region?: string;
  allow: string[];
}

/** The CLI, separate from process state so it can be tested. */
export function program(print: (line: string) => void): Command {
  return new Command()
    .name('npm run token --')
    .description('Mints a Postbox connect token (HS256 JWT whose sub is the clientId) and prints only the token.')
    .argument('<clientId>', 'the client identity the token proves')
    .option('--ttl <span>', 'lifetime, as a time span: 30m, 1h, 7d', '1h')
    .option(
      '--local',
      'sign with the local runtime’s key instead of the deployed stack’s (also POSTBOX_LOCAL=1)',
      false,
    )
    .option('--data-dir <dir>', 'the local runtime’s data folder', '.postbox')
    .option('--secret <arnOrName>', 'which local secret, when the data folder holds several')
    .option('--stack <name>', 'the deployed stack whose TokenSecretArn output names the key', 'Postbox')
    .option('--region <region>', 'AWS region of the stack (default: the SDK’s usual resolution)')
    .option(
      '--allow <operation:pattern>',
      'a capability, repeatable: subscribe|publish|send|enqueue|consume (comma list) on a name, prefix* or * (default: everything on *)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action(async (clientId: string, options: Options) => {
      const local = options.local || process.env.POSTBOX_LOCAL === '1';
      const secret = local
        ? readLocalSecret(resolve(options.dataDir, 'secrets.json'), options.secret)
        : await readStackSecret(options.stack, options.region);
      print(await mint(secret, clientId, options.ttl, options.allow));
    });
}

function parseSecrets(file: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new TokenScriptError(`${file} is not JSON: delete it and run \`npm start\` again.`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TokenScriptError(`${file} must map secret ARNs or names to their values.`);
  }
  return Object.fromEntries(
    Object.entries(parsed as Record<string, unknown>).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  );
}

function pickTokenSecret(ids: string[]): string[] {
  if (ids.length === 1) return ids;
  return ids.filter((id) => id.includes('TokenSecret'));
}

/** `arn:…:secret:Name-AbCdEf` → `Name` (Secrets Manager appends six random characters to the name in an ARN). */
function secretName(id: string): string {
  const name = id.includes(':secret:') ? (id.split(':secret:')[1] ?? '') : id;
  return name.replace(/-[0-9a-zA-Z]{6}$/, '');
}

function explain(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  try {
    await program((line) => process.stdout.write(`${line}\n`)).parseAsync();
  } catch (err) {
    if (!(err instanceof TokenScriptError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  }
}
