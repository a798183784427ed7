import type { Spy } from '../spy.js';
import type { StaticAssets } from './assets.js';
import type { ConnectionFaults } from './faults.js';

/** A REQUEST Lambda authorizer on `$connect` (`AWS::ApiGatewayV2::Authorizer`). */
export interface GatewayAuthorizer {
  name: string;
  functionId: string;
  /** e.g. `['route.request.querystring.token']`; a missing source refuses the handshake with 401. */
  identitySource: string[];
}

interface RouteBase {
  routeKey: string;
  /** The route has a `$default` RouteResponse, so the integration's result is sent back to the client. */
  twoWay: boolean;
  authorizer?: GatewayAuthorizer;
}

/** A route whose AWS_PROXY integration invokes a function. */
export interface LambdaRoute extends RouteBase {
  functionId: string;
  mock?: undefined;
}

/** A route API Gateway answers by itself (a MOCK integration on a message route), invoking nothing. */
export interface MockRoute extends RouteBase {
  mock: MockIntegration;
  functionId?: undefined;
}

export type GatewayRoute = LambdaRoute | MockRoute;

/**
 * A MOCK integration with static templates, evaluated at start-up: the request template's `statusCode` (undefined
 * when it gives none: API Gateway then fails with a configuration error) and the integration responses.
 */
export interface MockIntegration {
  statusCode: number | undefined;
  /** By `IntegrationResponseKey` (`$default`, or `/regex/` over the status): the selected response template. */
  responses: { key: string; body: string | undefined }[];
}

export interface GatewayApi {
  apiId: string;
  name: string;
  stage: string;
  /** Only `$request.body.<dot.path>` is supported. */
  routeSelectionExpression: string;
  routes: Map<string, GatewayRoute>;
}

export type InvokeResult =
  | { ok: true; value: unknown }
  | { ok: false; error: { name: string; message: string; requestId: string } };

/** Runs a function; resolves with its result or its error. A rejection means a runtime bug and is reported. */
export type Invoke = (functionId: string, event: unknown) => Promise<InvokeResult>;

/** API Gateway's WebSocket quotas; each defaults to the AWS value (see `AWS_LIMITS`). */
export interface GatewayLimits {
  /** @default 600000 (10 min) */
  idleTimeoutMs: number;
  /** @default 7200000 (2 h) */
  maxConnectionMs: number;
  /** @default 32768 */
  maxFrameBytes: number;
  /** @default 131072, also the PostToConnection `Data` cap */
  maxMessageBytes: number;
  /** @default 29000 */
  integrationTimeoutMs: number;
}

export interface StartGatewayOptions {
  /** 0 picks a free port. */
  port: number;
  host: string;
  api: GatewayApi;
  invoke: Invoke;
  spy: Spy;
  limits?: Partial<GatewayLimits>;
  region: string;
  /** `requestContext.domainName` and the `$disconnect` Host header. @default `{apiId}.execute-api.{region}.amazonaws.com` */
  domainName?: string;
  /** Files served on GET by path on the same port (not an AWS feature), e.g. a browser client. @default none */
  assets?: StaticAssets;
}

export interface Gateway {
  /** `ws://host:port`: clients connect to `${url}/?token=…` or `${url}/{stage}?token=…`. */
  url: string;
  /** `http://host:port`: the Management API endpoint is `${httpUrl}/{stage}`. */
  httpUrl: string;
  port: number;
  /** Failures the `@connections` API injects when asked (for tests). */
  faults: ConnectionFaults;
  /** Closes every connection with 1001 (running `$disconnect`, bounded wait), then the server. */
  stop(): Promise<void>;
}
