import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The first AWS SDK v2 release whose SQS client speaks SQS's JSON protocol (its `apis/sqs-2012-11-05.min.json` says
 * `"protocol":"json"`; 2.1490.0 and every release before it say `"query"`, checked in the published packages).
 */
export const SQS_JSON_SINCE = '2.1491.0';

/** Where SDK v2 sits in a function's code, and what its SQS client sends. */
export interface SdkV2 {
  /** `2.1400.0`, when the bundle or package says. */
  version?: string;
  sqsProtocol: 'query' | 'json' | 'unknown';
  where: 'node_modules' | 'bundle';
}

// In a bundle the SQS model is an object literal (esbuild, rollup) or JSON text (webpack's JSON.parse): keys quoted
// or not, sorted as in the model file, so `protocol` follows `endpointPrefix` within a few keys.
const SQS_MODEL = /["']?endpointPrefix["']?\s*:\s*["']sqs["']\s*,[^}]{0,120}?["']?protocol["']?\s*:\s*["'](\w+)["']/;
// lib/core.js: `AWS.util.update(AWS, { VERSION: '2.1400.0', Signers: …`, comments between the keys unminified.
const CORE_VERSION = /\bVERSION\s*:\s*["'](2\.\d+\.\d+)["']\s*,(?:\s|\/\*[\s\S]{0,200}?\*\/)*Signers\s*:/;

/**
 * Finds SDK v2 in a function's asset: `node_modules/aws-sdk` shipped beside the handler, or the SDK bundled into the
 * handler file (`source`, already read for the import scan). Only the handler file is scanned: a bundle split into
 * chunks that keep the SDK elsewhere is not seen.
 */
export function findSdkV2(taskRoot: string, source: string): SdkV2 | undefined {
  const pkg = readJson(join(taskRoot, 'node_modules', 'aws-sdk', 'package.json')) as { version?: string } | undefined;
  if (pkg) {
    const version = typeof pkg.version === 'string' ? pkg.version : undefined;
    const model = readJson(join(taskRoot, 'node_modules', 'aws-sdk', 'apis', 'sqs-2012-11-05.min.json')) as
      | { metadata?: { protocol?: string } }
      | undefined;
    return { version, sqsProtocol: protocolOf(model?.metadata?.protocol, version), where: 'node_modules' };
  }
  const version = CORE_VERSION.exec(source)?.[1];
  const protocol = SQS_MODEL.exec(source)?.[1];
  // No SQS model in the bundle (only `aws-sdk/clients/dynamodb` imported, say): nothing of SQS to fail.
  if (!protocol) return version ? { version, sqsProtocol: 'unknown', where: 'bundle' } : undefined;
  return { version, sqsProtocol: protocolOf(protocol, version), where: 'bundle' };
}

/**
 * The start-up line for SDK v2's SQS client on the query protocol, which the embedded SQS (fauxqs, which reads only
 * `X-Amz-Target` JSON requests) answers with `InvalidAction: Unknown action: SendMessage`. Measured with aws-sdk
 * 2.814.0, 2.1400.0 and 2.1490.0 (query: every SQS call fails) and 2.1491.0, 2.1693.0 (json: SendMessage and
 * ReceiveMessage work); DynamoDB's DocumentClient worked on all five.
 */
export function sdkV2Line(path: string, sdk: SdkV2): string | undefined {
  if (sdk.sqsProtocol !== 'query') return undefined;
  const which = sdk.version ? `AWS SDK v2 ${sdk.version}` : 'an AWS SDK v2 release before 2.1491.0';
  const held = sdk.where === 'bundle' ? 'its bundle holds' : 'its node_modules hold';
  return `${path}: ${held} ${which}, whose SQS client sends SQS's older query protocol (form-encoded Action=SendMessage), which the embedded SQS does not serve, so its SQS calls fail locally with "InvalidAction: Unknown action" (on AWS they work): upgrade aws-sdk to ${SQS_JSON_SINCE} or later, or move to @aws-sdk/client-sqs (v3).`;
}

function protocolOf(protocol: string | undefined, version: string | undefined): SdkV2['sqsProtocol'] {
  if (protocol === 'query' || protocol === 'json') return protocol;
  if (!version) return 'unknown';
  return compareVersions(version, SQS_JSON_SINCE) < 0 ? 'query' : 'json';
}

function compareVersions(a: string, b: string): number {
  const [pa, pb] = [a, b].map((v) => v.split('.').map((part) => Number.parseInt(part, 10) || 0));
  for (let i = 0; i < 3; i++) {
    const d = (pa?.[i] ?? 0) - (pb?.[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
