import { buildWebSocketApi } from './api.js';
import { buildQueue, buildSecret, buildTable } from './data.js';
import { buildEventSourceMapping } from './event-sources.js';
import { linkStacks } from './exports.js';
import { buildFunction } from './functions.js';
import { type Pseudo, type ResolveContext, ResolveError, resolveString } from './intrinsics.js';
import { type LoadedStack, loadStack, loadStacks } from './load.js';
import { seedPhysicalValues } from './physical.js';
import { assertSupported } from './support.js';
import type { CfnResource, TemplateModel } from './types.js';

/** The local account: the region and account id every emulator (fauxqs, dynalite, LocalStack) uses by default. */
export const LOCAL_ACCOUNT = { region: 'us-east-1', accountId: '000000000000' } as const;

/** Loads a stack from a cloud assembly and builds its model; throws `UnsupportedResourceError` on what cannot run. */
export function loadModel(cdkOut: string, stack?: string): TemplateModel {
  return buildModel(loadStack(cdkOut, stack));
}

/**
 * Loads the stacks named (every stack of the assembly when none is), builds their models and links their exports
 * and imports; the result is in deploy order (a stack after those it imports from).
 */
export function loadModels(cdkOut: string, stacks?: string[]): TemplateModel[] {
  return linkStacks(
    loadStacks(cdkOut, stacks).map((loaded) => buildModel(loaded)),
    resolveContext,
  );
}

export function buildModel(
  loaded: LoadedStack,
  account: { region: string; accountId: string } = LOCAL_ACCOUNT,
): TemplateModel {
  const { template, stackName, cdkOut } = loaded;
  assertSupported(template);
  const ofType = (type: string): [string, CfnResource][] =>
    Object.entries(template.Resources).filter(([, r]) => r.Type === type);
  const fnCtx = { template, stackName, cdkOut, ...account };

  const functions = new Map(ofType('AWS::Lambda::Function').map(([id, r]) => [id, buildFunction(id, r, fnCtx)]));
  const queues = new Map(ofType('AWS::SQS::Queue').map(([id, r]) => [id, buildQueue(id, r, template, stackName)]));
  const tables = new Map(ofType('AWS::DynamoDB::Table').map(([id, r]) => [id, buildTable(id, r, stackName)]));
  const secrets = new Map(ofType('AWS::SecretsManager::Secret').map(([id, r]) => [id, buildSecret(id, r, stackName)]));
  const physical = seedPhysicalValues({ template, stackName, ...account, functions, queues, tables, secrets });
  const eventSourceMappings = ofType('AWS::Lambda::EventSourceMapping').map(([id, r]) =>
    buildEventSourceMapping(id, r, template, queues, functions),
  );
  const api = buildWebSocketApi(template, physical);
  return {
    stackName,
    cdkOut,
    template,
    ...account,
    functions,
    queues,
    tables,
    secrets,
    eventSourceMappings,
    api,
    physical,
    imports: new Map(),
  };
}

/** The context intrinsics resolve in, over the model's physical values as they stand. */
export function resolveContext(model: TemplateModel): ResolveContext {
  const pseudo: Pseudo = {
    region: model.region,
    accountId: model.accountId,
    stackName: model.stackName,
    partition: 'aws',
    urlSuffix: 'amazonaws.com',
  };
  const importValue = (name: string): string => {
    const source = model.imports.get(name);
    if (!source) throw new ResolveError(`Fn::ImportValue ${name}: no stack loaded exports it`);
    return resolveString(source.value, resolveContext(source.model));
  };
  return { template: model.template, physical: model.physical, pseudo, importValue };
}
