import { createHash } from 'node:crypto';

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const MIXED_ALNUM = `${UPPER_ALNUM}abcdefghijklmnopqrstuvwxyz`;

/**
 * `length` characters of `alphabet` derived from `seed`. Physical ids are derived, not random: on AWS they stay the
 * same across deployments of a stack, and locally they must stay the same across restarts over one data folder.
 */
export function derivedId(seed: string, length: number, alphabet: string): string {
  const bytes = createHash('sha256').update(seed).digest();
  return Array.from(bytes.subarray(0, length), (b) => alphabet[b % alphabet.length]).join('');
}

/**
 * CloudFormation's generated name for a resource without an explicit one: `{stack}-{logicalId}-{suffix}`, trimmed to
 * the service's limit (SQS 80, Lambda 64, DynamoDB 255), keeping `.fifo` for FIFO queues.
 */
export function generatedName(stackName: string, logicalId: string, maxLength: number, ending = ''): string {
  const suffix = derivedId(`${stackName}/${logicalId}`, 12, UPPER_ALNUM);
  const room = maxLength - suffix.length - ending.length - 2;
  return `${`${stackName}-${logicalId}`.slice(0, room)}-${suffix}${ending}`;
}

/** An API Gateway id: 10 lowercase letters and digits (`a1b2c3d4e5`); routes and integrations use 7. */
export function apiGatewayId(seed: string, length = 10): string {
  return derivedId(seed, length, LOWER_ALNUM);
}

/** A Secrets Manager secret name as CloudFormation generates it: `{logicalId}-{12 letters and digits}`. */
export function generatedSecretName(stackName: string, logicalId: string): string {
  return `${logicalId}-${derivedId(`${stackName}/${logicalId}`, 12, MIXED_ALNUM)}`;
}

/** An id in UUID format (event source mapping UUIDs), derived from `seed`. */
export function derivedUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
