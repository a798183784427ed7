import type { Spy } from '../spy.js';
export interface GatewayAuthorizer {
  name: string;
  functionId: string;
  identitySource: string[];
} // e.g. ['route.request.querystring.token']
export interface GatewayRoute {
  routeKey: string;
  functionId: string;
  twoWay: boolean;
  authorizer?: GatewayAuthorizer;
}
export interface GatewayApi {
  apiId: string;
  name: string;
  stage: string;
  routeSelectionExpression: string;
  routes: Map<string, GatewayRoute>;
}
export type InvokeResult =
  | { ok: true; value: unknown }
  | { ok: false; error: { name: string; message: string; requestId: string } };
export type Invoke = (functionId: string, event: unknown) => Promise<InvokeResult>;
export interface GatewayLimits {
  idleTimeoutMs: number;
  maxConnectionMs: number;
  maxFrameBytes: number;
  maxMessageBytes: number;
  integrationTimeoutMs: number;
}
export interface StartGatewayOptions {
  port: number;
  host: string;
  api: GatewayApi;
  invoke: Invoke;
  spy: Spy;
  limits?: Partial<GatewayLimits>;
  region: string;
  domainName?: string;
}
export interface Gateway {
  url: string;
  httpUrl: string;
  port: number;
  stop(): Promise<void>;
}
