import { existsSync, readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { join } from 'node:path';
import type { FunctionModel } from '../template/types.js';
import { findSdkV2, sdkV2Line } from './sdk-v2.js';

/**
 * When Lambda deprecated each Node.js runtime (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html): after it
 * the runtime gets no security patches, and creating then updating functions on it is blocked. Runtimes older
 * than these (nodejs, 4.3, 6.10, 8.10, 10.x) were deprecated long before.
 */
const DEPRECATED_ON: Record<string, string> = {
  'nodejs12.x': '2023-03-31',
  'nodejs14.x': '2023-12-04',
  'nodejs16.x': '2024-06-12',
  'nodejs18.x': '2025-09-01',
  'nodejs20.x': '2026-04-30',
  'nodejs22.x': '2027-04-30',
  'nodejs24.x': '2028-04-30',
};

/** The runtime to suggest: the newest Lambda offers, which the handlers here also run on. */
const CURRENT_RUNTIME = 'nodejs24.x';

const PACKAGE = /^(?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(?:\/[\w./-]*)?$/i;

export interface ReportOptions {
  /** @default new Date() */
  now?: Date;
  /**
   * Where SQS runs. LocalStack serves SQS's query protocol as well as JSON (localstack/localstack#8268 added JSON to
   * its query-based provider), so SDK v2's older SQS client is reported only against the embedded SQS.
   * @default 'embedded'
   */
  backend?: 'embedded' | 'localstack';
}

/**
 * What to tell the user about a function before it first runs: a runtime past its deprecation; packages its
 * code imports that are neither bundled into its asset nor provided by its Lambda runtime (on AWS: `Cannot find
 * module` at its first invocation), or that the runtime provides but this machine lacks; and an SDK v2 in its asset
 * whose SQS client the local SQS cannot serve. Each line names the function's CDK path and says what to do.
 */
export function startupReport(fn: FunctionModel, options: ReportOptions = {}): string[] {
  const { now = new Date(), backend = 'embedded' } = options;
  const lines: string[] = [];
  const deprecated = deprecationOf(fn.runtime);
  if (deprecated && deprecated <= now.toISOString().slice(0, 10)) {
    lines.push(
      `${fn.path}: runtime ${fn.runtime} is past AWS Lambda's deprecation (${deprecated}); it gets no security patches and AWS blocks creating and then updating functions on it: set its runtime to ${CURRENT_RUNTIME} (Runtime.NODEJS_24_X in CDK).`,
    );
  }
  const source = readFileSync(fn.handlerFile, 'utf8');
  for (const pkg of importedPackages(source)) {
    if (existsSync(join(fn.taskRoot, 'node_modules', pkg))) continue;
    const provided = providedByRuntime(pkg, fn.runtime);
    if (!provided) {
      const why =
        pkg === 'aws-sdk'
          ? 'the AWS SDK v2, which Lambda stopped providing with nodejs18.x'
          : 'a package the Lambda runtime does not provide';
      lines.push(
        `${fn.path}: its code imports ${pkg}, ${why}, and its bundle leaves it out, so on AWS it fails with "Cannot find module '${pkg}'": bundle it (take it out of the function's externalModules) or move to a package the runtime has (for the SDK, @aws-sdk/* v3).`,
      );
    } else if (!installedHere(pkg)) {
      lines.push(
        `${fn.path}: its code imports ${pkg}, which the ${fn.runtime} Lambda runtime provides but this project has not installed, so it fails locally with "Cannot find module": run \`npm install --save-dev ${pkg}\`.`,
      );
    }
  }
  const sdk = backend === 'embedded' ? findSdkV2(fn.taskRoot, source) : undefined;
  const sdkLine = sdk && sdkV2Line(fn.path, sdk);
  if (sdkLine) lines.push(sdkLine);
  return lines;
}

function deprecationOf(runtime: string): string | undefined {
  if (runtime in DEPRECATED_ON) return DEPRECATED_ON[runtime];
  const major = /^nodejs(\d+)\.(?:x|\d+)$/.exec(runtime)?.[1];
  // The runtimes before nodejs12.x, and the bare `nodejs`, were all deprecated by 2021.
  return runtime === 'nodejs' || (major !== undefined && Number(major) < 12) ? '2021-01-01' : undefined;
}

/** The SDK each runtime ships in its `/var/runtime/node_modules`: v2 up to nodejs16.x, v3 from nodejs18.x. */
function providedByRuntime(pkg: string, runtime: string): boolean {
  const major = Number(/^nodejs(\d+)/.exec(runtime)?.[1] ?? 0);
  if (pkg === 'aws-sdk') return major > 0 && major <= 16;
  return major >= 18 && /^@aws-sdk\/|^@smithy\//.test(pkg);
}

/** Resolved as the sandbox resolves the runtime's packages: from this project's node_modules. */
function installedHere(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    return true;
  } catch {
    try {
      createRequire(import.meta.url).resolve(pkg);
      return true;
    } catch {
      return false;
    }
  }
}

/** The packages a bundled handler loads at run time: `require("x")`, `from "x"`, `import("x")`, `import "x"`. */
function importedPackages(source: string): Set<string> {
  const found = new Set<string>();
  const pattern = /(?:\brequire\s*\(\s*|\bfrom\s*|\bimport\s*\(\s*|\bimport\s*)["']([^"'\s]+)["']/g;
  for (const [, specifier] of source.matchAll(pattern)) {
    if (!specifier || !PACKAGE.test(specifier) || isBuiltin(specifier)) continue;
    const parts = specifier.split('/');
    found.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier));
  }
  return found;
}
