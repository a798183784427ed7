import { resolve } from 'node:path';
import type { StaticAssets } from './gateway/assets.js';
import type { ConnectionFaults } from './gateway/faults.js';
import { startGateway } from './gateway/index.js';
import type { Gateway, GatewayLimits, Invoke } from './gateway/types.js';
import { hostRoutes, LambdaRuntime, type LogSink, runtimeEnvironment, terminalSink } from './lambda/index.js';
import { startupReport } from './lambda/startup-report.js';
import { writeRuntimeInfo } from './runtime-info.js';
import { type RequestObserver, recordSecret, type Services, sqsClientFor, startServices } from './services/index.js';
import { Spy } from './spy.js';
import { startEventSources } from './sqs/index.js';
import {
  type FunctionModel,
  loadModels,
  ResolveError,
  resolveContext,
  resolveEnvironment,
  TemplateError,
  type TemplateModel,
  UnsupportedResourceError,
} from './template/index.js';
import { provision } from './template/provision.js';

export { TemplateError, UnsupportedResourceError } from './template/index.js';

export interface StartLocalOptions {
  /** Gateway port; 0 picks a free one. @default 3001 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** The cloud assembly. @default 'cdk.out' */
  cdkOut?: string;
  /**
   * The stacks to run together (artifact ids or display names); `Fn::ImportValue` resolves against their exports.
   * @default every stack of the assembly
   */
  stack?: string | string[];
  /**
   * Where SQS messages, DynamoDB data and secrets persist between runs (one runtime at a time); ignored with
   * `inMemory`. Omitted = in memory.
   */
  dataDir?: string;
  inMemory?: boolean;
  /** @default 'embedded' (fauxqs, dynalite, an in-process Secrets Manager) */
  backend?: 'embedded' | 'localstack';
  /** @default 'http://localhost:4566' */
  localstackEndpoint?: string;
  /** Gateway quotas; AWS's by default. */
  limits?: Partial<GatewayLimits>;
  /** Function output, one line per call. @default stdout */
  logSink?: LogSink;
  /** Instances per function; further invocations wait for a free one. @default DEFAULT_INSTANCES (2) */
  maxConcurrency?: number;
  /** Called with every SQS and DynamoDB request the embedded services answer (the benchmark counts them). */
  observe?: RequestObserver;
  /**
   * How many past events the spy keeps for `events()` and `waitFor()` (pushes with their data). A long-running
   * `npm start` has no test reading them back and keeps none. @default 10000
   */
  spyHistory?: number;
  /**
   * Values that replace an environment variable of every function that declares it, after the template's own
   * (e.g. `{ ACK_DEADLINE_SECONDS: '1' }` to make timers short in a test). A variable no function declares is refused.
   */
  environment?: Record<string, string>;
  /** Files the gateway's port serves on GET by path (`npm start` serves the browser SDK and its demo). @default none */
  assets?: StaticAssets;
}

export interface LocalStack {
  /** `ws://host:port` */
  url: string;
  /** `http://host:port`, also the base of the `@connections` API. */
  httpUrl: string;
  port: number;
  spy: Spy;
  /** The stack holding the WebSocket API. */
  model: TemplateModel;
  /** Every stack running, in deploy order (each after the stacks it imports from). */
  models: TemplateModel[];
  endpoints: Services;
  /** Secret values by logical id, of every stack (e.g. the token signing key), as created or found in the data folder. */
  secretValues: Map<string, string>;
  /** Invokes a function of the stack by logical id, as the gateway and the pollers do. */
  invoke: Invoke;
  /** Failures the local `@connections` API injects on request (`faults.failPosts(...)`). */
  faults: ConnectionFaults;
  stop(): Promise<void>;
}

/**
 * Runs a synthesized CDK stack locally: reads the template, starts the services and creates the stack's queues,
 * tables and secrets in them, then the Lambda runtime, the WebSocket gateway and the SQS pollers.
 * `stop()` stops them in reverse order.
 */
export async function startLocal(options: StartLocalOptions = {}): Promise<LocalStack> {
  const cdkOut = resolve(options.cdkOut ?? 'cdk.out');
  const models = loadModels(cdkOut, options.stack === undefined ? undefined : [options.stack].flat());
  const model = servedStack(models);
  const api = model.api;
  if (!api) throw new TemplateError(`stack ${model.stackName} has no WebSocket API for the local gateway to serve`);
  const functions = functionsOf(models);
  const spy = new Spy(options.spyHistory);
  const sink = options.logSink ?? terminalSink;
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const endpoints = await startServices({
      backend: options.backend,
      localstackEndpoint: options.localstackEndpoint,
      dataDir: options.inMemory ? undefined : options.dataDir,
      host: options.host,
      region: model.region,
      observe: options.observe,
    });
    stops.push(() => endpoints.stop());
    const secretValues = new Map<string, string>();
    // In deploy order, so an import of a queue URL or a secret ARN finds it created.
    for (const stack of models) {
      const provisioned = await provision(stack, endpoints);
      for (const note of provisioned.notes) sink(`[local] ${note}`);
      for (const [id, value] of provisioned.secretValues) {
        secretValues.set(id, value);
        if (options.backend === 'localstack' && endpoints.secretsFile)
          recordSecret(endpoints.secretsFile, stack.physical.get(id)?.ref ?? id, value);
      }
    }

    // Instances start lazily, at their first invocation, by which time the gateway's address is known.
    let gatewayBaseUrl = '';
    const contexts = new Map(models.map((m) => [m, resolveContext(m)]));
    const overrides = options.environment ?? {};
    for (const name of Object.keys(overrides)) {
      if (![...functions.values()].some(({ fn }) => name in fn.environment))
        throw new TemplateError(`environment override ${name}: no function of ${model.stackName} declares it`);
    }
    const environmentOf = (fn: FunctionModel): Record<string, string> => {
      const owner = functions.get(fn.logicalId)?.model ?? model;
      const ctx = contexts.get(owner) ?? resolveContext(owner);
      const variables = resolveEnvironment(fn, ctx, { apiId: api.gateway.apiId, gatewayBaseUrl });
      return runtimeEnvironment(fn, model.region, endpoints, overridden(variables, overrides));
    };
    for (const { fn } of functions.values())
      for (const line of startupReport(fn, { backend: options.backend })) sink(`[local] ${line}`);
    // Every variable is resolved once now, so an unresolvable one is reported at start-up, not at first use.
    for (const { fn } of functions.values()) checkEnvironment(fn, environmentOf);
    const runtime = new LambdaRuntime({
      functions: [...functions.values()].map(({ fn }) => fn),
      environment: environmentOf,
      routes: () =>
        hostRoutes(model.region, endpoints, { apiId: api.gateway.apiId, gatewayBaseUrl }, queueHostsOf(models)),
      spy,
      maxConcurrency: options.maxConcurrency,
      sink,
    });
    stops.push(() => runtime.stop());

    const gateway: Gateway = await startGateway({
      port: options.port ?? 3001,
      host: options.host ?? '127.0.0.1',
      api: api.gateway,
      invoke: runtime.invoke,
      spy,
      limits: { ...integrationTimeout(api.integrationTimeoutsMs), ...options.limits },
      region: model.region,
      assets: options.assets,
    });
    stops.push(() => gateway.stop());
    gatewayBaseUrl = gateway.httpUrl;

    if (options.dataDir && !options.inMemory) {
      const forget = writeRuntimeInfo(options.dataDir, {
        pid: process.pid,
        httpUrl: gateway.httpUrl,
        sqs: endpoints.sqs,
        dynamodb: endpoints.dynamodb,
        region: model.region,
        cdkOut,
        stacks: models.map((m) => ({ name: m.stackName, physical: [...m.physical] })),
      });
      stops.push(async () => forget());
    }

    const sqs = sqsClientFor(endpoints);
    stops.push(async () => sqs.destroy());
    for (const stack of models) {
      const pollers = startEventSources(stack, {
        sqs,
        invoke: runtime.invoke,
        instancesOf: runtime.instancesOf,
        spy,
        sink,
      });
      stops.push(() => pollers.stop());
    }

    return {
      url: gateway.url,
      httpUrl: gateway.httpUrl,
      port: gateway.port,
      spy,
      model,
      models,
      endpoints,
      secretValues,
      invoke: runtime.invoke,
      faults: gateway.faults,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The hosts of the provisioned queues' URLs, as the functions' `Ref`s and `QueueUrl`s name them. */
function queueHostsOf(models: TemplateModel[]): Set<string> {
  const hosts = new Set<string>();
  for (const model of models) {
    for (const id of model.queues.keys()) {
      const url = URL.parse(String(model.physical.get(id)?.attributes.QueueUrl ?? ''));
      if (url) hosts.add(url.hostname);
    }
  }
  return hosts;
}

/** The one stack whose WebSocket API the gateway serves. */
function servedStack(models: TemplateModel[]): TemplateModel {
  const withApi = models.filter((m) => m.api);
  const [first, second] = withApi;
  if (second?.api) {
    throw new UnsupportedResourceError(
      second.api.path,
      'AWS::ApiGatewayV2::Api',
      undefined,
      `the local gateway serves one WebSocket API, and ${first?.api?.path} is another`,
    );
  }
  if (!first) {
    const names = models.map((m) => m.stackName).join(', ');
    throw new TemplateError(`no stack of ${names} has a WebSocket API for the local gateway to serve`);
  }
  return first;
}

/**
 * The functions of every stack by logical id, the key the gateway, the pollers and `invoke` use. Logical ids are
 * unique within a stack only, so two stacks declaring the same one are refused rather than one shadowing the other.
 */
function functionsOf(models: TemplateModel[]): Map<string, { fn: FunctionModel; model: TemplateModel }> {
  const functions = new Map<string, { fn: FunctionModel; model: TemplateModel }>();
  for (const model of models) {
    for (const fn of model.functions.values()) {
      const other = functions.get(fn.logicalId);
      if (other) {
        throw new UnsupportedResourceError(
          fn.path,
          'AWS::Lambda::Function',
          undefined,
          `its logical id ${fn.logicalId} is also that of ${other.fn.path}; the local runtime needs them distinct`,
        );
      }
      functions.set(fn.logicalId, { fn, model });
    }
  }
  return functions;
}

function checkEnvironment(fn: FunctionModel, environmentOf: (fn: FunctionModel) => unknown): void {
  try {
    environmentOf(fn);
  } catch (err) {
    if (!(err instanceof ResolveError)) throw err;
    throw new UnsupportedResourceError(fn.path, 'AWS::Lambda::Function', 'Environment', err.message);
  }
}

/** A function's environment with the overrides of the variables it declares. */
function overridden(environment: Record<string, string>, overrides: Record<string, string>): Record<string, string> {
  const result = { ...environment };
  for (const [name, value] of Object.entries(overrides)) if (name in result) result[name] = value;
  return result;
}

/**
 * The gateway applies one integration timeout; when the template sets `TimeoutInMillis` on integrations, the
 * shortest one is used (stricter rather than kinder than AWS for the other routes).
 */
function integrationTimeout(timeouts: Map<string, number>): Partial<GatewayLimits> {
  return timeouts.size > 0 ? { integrationTimeoutMs: Math.min(...timeouts.values()) } : {};
}
