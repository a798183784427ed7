/**
 * The Lambda runtime inside one worker thread: one sandbox ("execution environment") of one function. Loaded by
 * Node's type stripping, so it uses erasable TypeScript only and imports nothing but `node:` modules and
 * `network.ts` beside it (which keeps to the same rule).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire, Module, registerHooks } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import { installNetworkRoutes } from './network.ts';
import type { InvokeMessage, SandboxData, WorkerMessage } from './protocol.js';

const data = workerData as SandboxData;
const port = parentPort;
if (!port) throw new Error('worker.ts runs only as a worker thread');

installModuleHooks();
installNetworkRoutes(data.routes);
let currentRequestId: string | undefined;
patchConsole();

// Lambda's Node.js runtime reports an error nobody awaited and then restarts the sandbox; so does this one.
process.on('uncaughtException', (err) => crash('Runtime.UncaughtException', err));
process.on('unhandledRejection', (reason) => crash('Runtime.UnhandledPromiseRejection', reason));

let handler: ((event: unknown, context: unknown) => unknown) | undefined;

port.on('message', (message: InvokeMessage) => {
  void invoke(message);
});

async function invoke(message: InvokeMessage): Promise<void> {
  currentRequestId = message.context.awsRequestId;
  const context = {
    ...message.context,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
  };
  try {
    handler ??= await loadHandler();
  } catch (err) {
    post({
      type: 'result',
      requestId: context.awsRequestId,
      ok: false,
      fatal: true,
      error: describe(err, 'Runtime.ImportModuleError'),
    });
    return;
  }
  try {
    const value = await handler(JSON.parse(message.event), context);
    // The result travels as JSON, as it does out of Lambda; `undefined` becomes `null`.
    post({ type: 'result', requestId: context.awsRequestId, ok: true, payload: JSON.stringify(value ?? null) });
  } catch (err) {
    const error = describe(err, 'Error');
    process.stderr.write(
      `${stamp('ERROR')}Invoke Error \t${JSON.stringify({ errorType: error.name, errorMessage: error.message, stack: error.stack?.split('\n') })}\n`,
    );
    post({ type: 'result', requestId: context.awsRequestId, ok: false, fatal: false, error });
  }
}

async function loadHandler(): Promise<(event: unknown, context: unknown) => unknown> {
  const module = isCommonJs(data) ? requireAsCommonJs(data.handlerFile) : await importModule(data.handlerFile);
  const fromDefault = (module.default as Record<string, unknown> | undefined)?.[data.handlerExport];
  const fn = module[data.handlerExport] ?? fromDefault;
  if (typeof fn !== 'function') {
    const error = new Error(`${data.handler} is undefined or not exported`);
    error.name = 'Runtime.HandlerNotFound';
    throw error;
  }
  return fn as (event: unknown, context: unknown) => unknown;
}

async function importModule(file: string): Promise<Record<string, unknown>> {
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

/**
 * On Lambda the task root is the root: a `.js` handler is CommonJS unless a `package.json` in the task root says
 * otherwise. cdk.out sits under this project's `"type": "module"` package.json, which Lambda never sees, so such a
 * handler is compiled as CommonJS explicitly.
 */
function isCommonJs(sandbox: SandboxData): boolean {
  return sandbox.handlerFile.endsWith('.js') && !existsSync(join(sandbox.taskRoot, 'package.json'));
}

function requireAsCommonJs(file: string): Record<string, unknown> {
  const cjs = new Module(file) as Module & { _compile(source: string, file: string): void; paths: string[] };
  cjs.filename = file;
  // Lambda's NODE_PATH ends with /var/runtime/node_modules, where the SDK lives: here, the project's node_modules.
  const runtimePaths = createRequire(import.meta.url).resolve.paths('x') ?? [];
  cjs.paths = [...(createRequire(file).resolve.paths('x') ?? []), ...runtimePaths];
  cjs._compile(readFileSync(file, 'utf8'), file);
  return cjs.exports as Record<string, unknown>;
}

function crash(errorType: string, reason: unknown): void {
  const error = describe(reason, errorType);
  process.stderr.write(`${stamp('ERROR')}${errorType} \t${error.message}\n`);
  post({ type: 'crash', requestId: currentRequestId, error: { ...error, name: errorType } });
}

function describe(err: unknown, fallbackName: string): { name: string; message: string; stack?: string } {
  if (err instanceof Error)
    return { name: err.name === 'Error' ? fallbackName : err.name, message: err.message, stack: err.stack };
  return { name: fallbackName, message: typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err)) };
}

function post(message: WorkerMessage): void {
  port?.postMessage(message);
}

/** Lambda's Node.js runtime prefixes each console line with the time, the request id and the level. */
function stamp(level: string): string {
  return `${new Date().toISOString()}\t${currentRequestId ?? 'undefined'}\t${level}\t`;
}

function patchConsole(): void {
  const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' } as const;
  for (const [method, level] of Object.entries(levels)) {
    const stream = level === 'ERROR' || level === 'WARN' ? process.stderr : process.stdout;
    console[method as keyof typeof levels] = (...args: unknown[]) => {
      stream.write(`${stamp(level)}${format(...args)}\n`);
    };
  }
}

/**
 * Packages the runtime provides (the AWS SDK v3, left out of bundles as externals) resolve from the runtime's own
 * folder, like `/var/runtime/node_modules` on Lambda: here the project's node_modules.
 */
function installModuleHooks(): void {
  const runtimeParent = import.meta.url;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      try {
        return nextResolve(specifier, context);
      } catch (err) {
        if (!/^@aws-sdk\/|^@smithy\//.test(specifier)) throw err;
        return nextResolve(specifier, { ...context, parentURL: runtimeParent });
      }
    },
  });
}
