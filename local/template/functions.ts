import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { TemplateError } from './errors.js';
import { generatedName } from './naming.js';
import { displayNameOf, originOf } from './origin.js';
import { unsupportedValue } from './support.js';
import type { CfnResource, CfnTemplate, FunctionModel } from './types.js';

export interface FunctionContext {
  template: CfnTemplate;
  stackName: string;
  cdkOut: string;
  region: string;
  accountId: string;
}

/** The extensions the Node.js runtime tries for a handler module, in its order. */
const MODULE_EXTENSIONS = ['.js', '.mjs', '.cjs'];

/** Models an `AWS::Lambda::Function` whose code is a bundled asset in the cloud assembly. */
export function buildFunction(logicalId: string, resource: CfnResource, ctx: FunctionContext): FunctionModel {
  const props = resource.Properties ?? {};
  const origin = originOf(logicalId, resource);
  const runtime = String(props.Runtime ?? '');
  if (!runtime.startsWith('nodejs')) {
    throw unsupportedValue(logicalId, ctx.template, 'Runtime', `only Node.js runtimes run locally, not "${runtime}"`);
  }
  const handler = String(props.Handler ?? '');
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) throw unsupportedValue(logicalId, ctx.template, 'Handler', `"${handler}" is not "file.export"`);
  const taskRoot = assetFolder(logicalId, resource, ctx);
  const handlerFile = MODULE_EXTENSIONS.map((ext) => join(taskRoot, handler.slice(0, dot) + ext)).find(existsSync);
  if (!handlerFile) {
    throw new TemplateError(`${origin.path}: no ${handler.slice(0, dot)}.js/.mjs/.cjs in ${taskRoot} for ${handler}`);
  }
  const name =
    typeof props.FunctionName === 'string' ? props.FunctionName : generatedName(ctx.stackName, logicalId, 64);
  const variables = (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
  return {
    ...origin,
    name,
    displayName: displayNameOf(origin),
    arn: `arn:aws:lambda:${ctx.region}:${ctx.accountId}:function:${name}`,
    handler,
    taskRoot,
    handlerFile,
    handlerExport: handler.slice(dot + 1),
    runtime,
    timeoutSeconds: Number(props.Timeout ?? 3),
    memoryMb: Number(props.MemorySize ?? 128),
    reservedConcurrency:
      props.ReservedConcurrentExecutions === undefined ? undefined : Number(props.ReservedConcurrentExecutions),
    environment: { ...variables },
  };
}

/**
 * The asset folder: `Metadata["aws:asset:path"]` (written when the context `aws:cdk:enable-asset-metadata` is set,
 * as the CDK CLI does), else the `<stack>.assets.json` entry whose object key is the function's `Code.S3Key`.
 */
function assetFolder(logicalId: string, resource: CfnResource, ctx: FunctionContext): string {
  const code = (resource.Properties?.Code ?? {}) as Record<string, unknown>;
  if (code.ZipFile !== undefined || code.ImageUri !== undefined) {
    throw unsupportedValue(
      logicalId,
      ctx.template,
      'Code',
      'only bundled assets run locally (not inline or image code)',
    );
  }
  const metadataPath = resource.Metadata?.['aws:asset:path'];
  if (typeof metadataPath === 'string') return isAbsolute(metadataPath) ? metadataPath : join(ctx.cdkOut, metadataPath);
  const key = typeof code.S3Key === 'string' ? code.S3Key : undefined;
  const assetsFile = join(ctx.cdkOut, `${ctx.stackName}.assets.json`);
  if (key && existsSync(assetsFile)) {
    const files = (JSON.parse(readFileSync(assetsFile, 'utf8')) as { files?: Record<string, AssetEntry> }).files ?? {};
    const entry = Object.entries(files).find(([hash, file]) => key === `${hash}.zip` || hasObjectKey(file, key));
    const path = entry?.[1].source?.path;
    if (path) return isAbsolute(path) ? path : join(ctx.cdkOut, path);
  }
  throw unsupportedValue(
    logicalId,
    ctx.template,
    'Code',
    'its asset is neither in the metadata nor in the assets manifest',
  );
}

interface AssetEntry {
  source?: { path?: string };
  destinations?: Record<string, { objectKey?: string }>;
}

function hasObjectKey(file: AssetEntry, key: string): boolean {
  return Object.values(file.destinations ?? {}).some((d) => d.objectKey === key);
}
