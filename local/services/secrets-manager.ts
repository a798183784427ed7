import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { text as consumeText } from 'node:stream/consumers';
import { close, listen } from '../net.js';
import type { Service } from './types.js';

/**
 * The slice of Secrets Manager the stack uses (CreateSecret, GetSecretValue with AWSCURRENT or AWSPREVIOUS,
 * PutSecretValue: a rotation), over AWS's JSON 1.1 protocol so the SDK client in the authorizer works unchanged.
 * Current values are kept in `file` (ARN → SecretString) so tokens minted before a restart stay valid, and so
 * `npm run token -- --local` can read the key; a previous value lives until the runtime stops.
 */
export async function startSecretsManager(host: string, file?: string): Promise<Service> {
  const secrets = new Map<string, string>(file && existsSync(file) ? Object.entries(readJson(file)) : []);
  const versions: Versions = { previous: new Map(), createdAt: new Map() };
  const save = (arn: string, value: string) => file && recordSecret(file, arn, value);
  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => answer(res, handle(req.headers['x-amz-target'], body, secrets, versions, save)))
      .catch((err: unknown) => answer(res, failure(500, 'InternalServiceError', String(err))));
  });
  const port = await listen(server, 0, host);
  return { endpoint: `http://${host}:${port}`, stop: () => close(server) };
}

type Reply = { status: number; body: Record<string, unknown> };
interface Versions {
  previous: Map<string, string>;
  /** When the current value was set (epoch seconds, as AWS's `CreatedDate`); unknown for one read from the file. */
  createdAt: Map<string, number>;
}
const NOT_FOUND = "Secrets Manager can't find the specified secret.";

function handle(
  target: string | string[] | undefined,
  input: Record<string, unknown>,
  secrets: Map<string, string>,
  versions: Versions,
  save: (arn: string, value: string) => void,
): Reply {
  switch (target) {
    case 'secretsmanager.GetSecretValue': {
      const arn = find(secrets, input.SecretId);
      if (!arn) return failure(400, 'ResourceNotFoundException', NOT_FOUND);
      const stage = input.VersionStage ?? 'AWSCURRENT';
      const value =
        stage === 'AWSCURRENT' ? secrets.get(arn) : stage === 'AWSPREVIOUS' ? versions.previous.get(arn) : undefined;
      if (value === undefined)
        return failure(400, 'ResourceNotFoundException', `${NOT_FOUND} (no version staged ${String(stage)})`);
      return ok({
        ARN: arn,
        Name: nameOf(arn),
        SecretString: value,
        VersionStages: [stage],
        ...(stage === 'AWSCURRENT' && versions.createdAt.has(arn) ? { CreatedDate: versions.createdAt.get(arn) } : {}),
      });
    }
    case 'secretsmanager.PutSecretValue': {
      const arn = find(secrets, input.SecretId);
      if (!arn) return failure(400, 'ResourceNotFoundException', NOT_FOUND);
      if (typeof input.SecretString !== 'string')
        return failure(400, 'InvalidParameterException', 'SecretString is required.');
      versions.previous.set(arn, secrets.get(arn) as string);
      versions.createdAt.set(arn, Date.now() / 1000);
      secrets.set(arn, input.SecretString);
      save(arn, input.SecretString);
      return ok({ ARN: arn, Name: nameOf(arn), VersionStages: ['AWSCURRENT'] });
    }
    case 'secretsmanager.CreateSecret': {
      const name = input.Name;
      if (typeof name !== 'string' || typeof input.SecretString !== 'string')
        return failure(400, 'InvalidParameterException', 'Name and SecretString are required.');
      if (find(secrets, name)) return failure(400, 'ResourceExistsException', `The secret ${name} already exists.`);
      // AWS appends a hyphen and six random characters to the name in a secret's ARN.
      const arn = `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-${randomBytes(3).toString('hex')}`;
      secrets.set(arn, input.SecretString);
      versions.createdAt.set(arn, Date.now() / 1000);
      save(arn, input.SecretString);
      return ok({ ARN: arn, Name: name });
    }
    default:
      return failure(400, 'UnknownOperationException', `Operation ${String(target)} is not supported locally.`);
  }
}

/** Adds a secret to the local secrets file (ARN → SecretString), which `npm run token -- --local` reads. */
export function recordSecret(file: string, arn: string, value: string): void {
  const secrets = existsSync(file) ? readJson(file) : {};
  secrets[arn] = value;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
}

function find(secrets: Map<string, string>, id: unknown): string | undefined {
  if (typeof id !== 'string') return undefined;
  return [...secrets.keys()].find((arn) => arn === id || nameOf(arn) === id);
}

function nameOf(arn: string): string {
  return (arn.split(':secret:')[1] ?? '').replace(/-[0-9a-zA-Z]{6}$/, '');
}

const ok = (body: Record<string, unknown>): Reply => ({ status: 200, body });
const failure = (status: number, type: string, message: string): Reply => ({
  status,
  body: { __type: type, message },
});

function answer(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(reply.body));
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await consumeText(req);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function readJson(file: string): Record<string, string> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
}
