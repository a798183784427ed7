/**
 * Keeps a local function's AWS traffic on this machine. Loaded into each sandbox worker before the handler, so it
 * uses erasable TypeScript only and imports nothing but `node:` modules.
 *
 * Why here and not in the handler's environment: `AWS_ENDPOINT_URL_*` reach only SDK v3 clients built without an
 * explicit endpoint. A handler that builds `new ApiGatewayManagementApiClient({ endpoint: \`https://${domainName}/${stage}\` })`
 * (AWS's samples), or bundles SDK v2 (which ignores those variables), names the real AWS host. Node's `http`/`https`
 * request functions and `fetch` are where every one of those requests passes, whichever SDK or version made it:
 *
 * - a host that has a local service (the app's own `execute-api` host, SQS, DynamoDB, Secrets Manager in the
 *   stack's region) is sent, over plain HTTP on loopback, to that service; path, method, headers and body are kept;
 * - any other AWS host (`*.amazonaws.com`, `*.api.aws`) is refused by name resolution, so the request fails at once
 *   with an error naming the host and the missing service, from any client that resolves through `node:dns`.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';

/** Where the hosts of the local services go, by exact host name (lower case). */
export interface HostRoutes {
  /** e.g. `{ 'abc1234567.execute-api.us-east-1.amazonaws.com': 'http://127.0.0.1:3001' }` */
  local: Record<string, string>;
}

/** The code a refused AWS host fails with (not a network code, so SDKs do not retry it as transient). */
export const NOT_LOCAL = 'ERR_AWS_HOST_NOT_LOCAL';

const AWS_HOST = /(^|\.)(amazonaws\.com(\.cn)?|api\.aws)$/i;

/** The name of the AWS service a host belongs to, for the error: `sns.us-east-1.amazonaws.com` → `sns`. */
function serviceOf(host: string): string {
  const labels = host.split('.');
  const apiAt = labels.indexOf('execute-api');
  return apiAt >= 0 ? 'execute-api' : (labels[0] ?? host);
}

export function notLocalError(host: string, routes: HostRoutes): Error {
  const service = serviceOf(host);
  const what = service === 'execute-api' ? "API Gateway API other than this app's" : `"${service}" service`;
  const served = Object.keys(routes.local).join(', ') || 'none';
  // A served host reaches this lookup only from a client that bypasses node:http(s) and fetch (raw tls.connect).
  const message = localTarget(host, routes)
    ? `${host}: served locally only to requests made with node:http, node:https or fetch`
    : `${host}: no local ${what} runs here, and a local function's requests never go to real AWS (AWS hosts served locally: ${served})`;
  const error = new Error(message) as Error & { code: string; hostname: string };
  error.name = 'LocalEndpointError';
  error.code = NOT_LOCAL;
  error.hostname = host;
  return error;
}

/** The local base URL for `host`, undefined when it is not an AWS host served here. */
export function localTarget(host: string | undefined | null, routes: HostRoutes): URL | undefined {
  if (!host) return undefined;
  const base = routes.local[host.toLowerCase().replace(/\.$/, '')];
  return base ? new URL(base) : undefined;
}

export function isAwsHost(host: string): boolean {
  return AWS_HOST.test(host.replace(/\.$/, ''));
}

type RequestArgs = [unknown, unknown?, unknown?];
type RequestFn = (...args: RequestArgs) => http.ClientRequest;

export function installNetworkRoutes(routes: HostRoutes): void {
  const agent = new http.Agent({ keepAlive: true });
  const originalHttpRequest = http.request as unknown as RequestFn;

  /**
   * `request(url[, options][, callback])` or `request(options[, callback])`, as Node parses it: the options win
   * over the URL's parts, so overriding protocol, host, port and agent sends the same request to the local service.
   */
  const redirected = (original: RequestFn): RequestFn =>
    function request(...args) {
      const [first, second, third] = args;
      const hasUrl = typeof first === 'string' || first instanceof URL;
      const options = (hasUrl ? (typeof second === 'object' && second !== null ? second : {}) : (first ?? {})) as
        | http.RequestOptions
        | undefined;
      const callback = hasUrl ? (typeof second === 'function' ? second : third) : second;
      const url = hasUrl ? new URL(String(first)) : undefined;
      const host = options?.hostname ?? options?.host?.replace(/:\d+$/, '') ?? url?.hostname;
      const target = localTarget(host, routes);
      if (!target) return original(...args);
      const local: http.RequestOptions = {
        ...options,
        protocol: 'http:',
        hostname: target.hostname,
        host: target.hostname,
        port: Number(target.port),
        agent,
      };
      return hasUrl ? originalHttpRequest(url, local, callback) : originalHttpRequest(local, callback);
    };

  const httpRequest = redirected(originalHttpRequest);
  const httpsRequest = redirected(https.request as unknown as RequestFn);
  // `get` calls the module's own `request`, not the export, so it is replaced too.
  const get =
    (request: RequestFn) =>
    (...args: RequestArgs) => {
      const req = request(...args);
      req.end();
      return req;
    };
  Object.assign(http, { request: httpRequest, get: get(httpRequest) });
  Object.assign(https, { request: httpsRequest, get: get(httpsRequest) });

  const originalFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    // What fetch itself would reject (a relative URL) it rejects as it would.
    const url = URL.parse(input instanceof Request ? input.url : String(input));
    const target = url ? localTarget(url.hostname, routes) : undefined;
    if (!url || !target) return originalFetch(input, init);
    url.protocol = 'http:';
    url.hostname = target.hostname;
    url.port = target.port;
    return originalFetch(input instanceof Request ? new Request(url, input) : url, init);
  };

  const originalLookup = dns.lookup;
  const lookup = ((hostname: string, options: unknown, callback?: unknown) => {
    const done = (typeof options === 'function' ? options : callback) as (err: Error) => void;
    if (isAwsHost(hostname)) {
      process.nextTick(() => done(notLocalError(hostname, routes)));
      return;
    }
    return (originalLookup as (...a: unknown[]) => void)(hostname, options, callback);
  }) as typeof dns.lookup;
  const originalPromiseLookup = dns.promises.lookup;
  dns.lookup = lookup;
  dns.promises.lookup = ((hostname: string, options?: dns.LookupOptions) => {
    if (isAwsHost(hostname)) return Promise.reject(notLocalError(hostname, routes));
    return originalPromiseLookup(hostname, options ?? {});
  }) as typeof dns.promises.lookup;
  // ESM handlers import these as bindings (`import { request } from 'node:https'`); this updates them.
  syncBuiltinESMExports();
}
