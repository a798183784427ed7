import { type CfnElement, type Duration, Stack, Validations } from 'aws-cdk-lib';
import {
  CfnIntegrationResponse,
  type ThrottleSettings,
  WebSocketApi,
  type WebSocketIntegration,
  type WebSocketRoute,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration, WebSocketMockIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** API Gateway stops waiting for an integration after 29 s, whatever the function's own timeout (quota, not adjustable). */
const INTEGRATION_TIMEOUT_SECONDS = 29;

/** The `@connections` verbs: post a frame, read a connection's details, close it. */
export type ConnectionMethod = 'POST' | 'GET' | 'DELETE';

/** A handler as this construct needs it: the function, and its timeout when known (to check against 29 s). */
export type RouteHandler = IFunction & { readonly timeout?: Duration };

/** Properties of {@link PostboxWebSocketApi}. */
export interface PostboxWebSocketApiProps {
  /** The REQUEST authorizer's function; it runs before `$connect` only. */
  readonly authorizeHandler: RouteHandler;
  /** `$connect`: records the connection. One-way (its result decides the handshake, no frame is sent). */
  readonly connectHandler: RouteHandler;
  /** `$disconnect`: removes the connection. One-way (the socket is already closed). */
  readonly disconnectHandler: RouteHandler;
  /** `$default`: frames that match no route; replies with an error frame. */
  readonly defaultHandler: RouteHandler;

  /**
   * Message routes by route key (the frame's `action`). Every one is two-way: its result is sent back as a frame.
   *
   * @example { subscribe: subscribeFn, publish: publishFn }
   */
  readonly routes: Readonly<Record<string, RouteHandler>>;

  /**
   * Routes API Gateway answers by itself, with no Lambda (a MOCK integration), by route key: the frame it sends back.
   * The frame in and the frame out are billed as messages, as on any route; no invocation is.
   *
   * @example { heartbeat: '{"type":"heartbeat"}' }
   * @default - none
   */
  readonly cannedRoutes?: Readonly<Record<string, string>>;

  /**
   * Where the token is read at the handshake. Browsers cannot set headers on a WebSocket, so the default is the
   * query string (`wss://…/prod?token=…`). API Gateway answers 401 without calling the authorizer when it is missing.
   *
   * @default ['route.request.querystring.token']
   */
  readonly identitySource?: string[];

  /**
   * The stage's name; it is the first path segment of both URLs.
   *
   * @default 'prod'
   */
  readonly stageName?: string;

  /**
   * Default throttling of every route on the stage, in requests per second over the whole API. The account's
   * regional budget (10,000 rps, 5,000 burst) is shared by all REST, HTTP and WebSocket APIs, so one runaway
   * client must not spend it all. 500 rps at ~50 ms per handler keeps about 25 route functions busy; the 1,000
   * burst absorbs every client reconnecting at once after a deploy.
   *
   * @default { rateLimit: 500, burstLimit: 1000 }
   */
  readonly throttle?: ThrottleSettings;

  /**
   * The API's name.
   *
   * @default - the construct path
   */
  readonly apiName?: string;
}

/**
 * The WebSocket API, its stage and its routes. Routing follows the frame's `action` field; `$connect` sits behind a
 * Lambda REQUEST authorizer. Handlers reply through two-way routes, and push through the stage's `@connections` API
 * (see {@link PostboxWebSocketApi.grantManageConnections}).
 */
export class PostboxWebSocketApi extends Construct {
  public readonly api: WebSocketApi;
  public readonly stage: WebSocketStage;
  public readonly authorizer: WebSocketLambdaAuthorizer;

  constructor(scope: Construct, id: string, props: PostboxWebSocketApiProps) {
    super(scope, id);
    const stageName = props.stageName ?? 'prod';
    const throttle = props.throttle ?? { rateLimit: 500, burstLimit: 1000 };
    validateStageName(this, stageName);
    validateThrottle(this, throttle);
    const canned = props.cannedRoutes ?? {};
    for (const key of Object.keys(canned)) {
      if (key in props.routes)
        throw new Error(
          `PostboxWebSocketApi ${this.node.path}: route key "${key}" is both a handler and a canned route`,
        );
    }
    for (const key of [...Object.keys(props.routes), ...Object.keys(canned)]) {
      // `$`-keys are API Gateway's own; they have fixed meanings and are wired above.
      if (key.startsWith('$') || key.length === 0) {
        throw new Error(`PostboxWebSocketApi ${this.node.path}: route key "${key}" is reserved or empty`);
      }
    }
    const handlers: Array<[string, RouteHandler]> = [
      ['$connect', props.connectHandler],
      ['$disconnect', props.disconnectHandler],
      ['$default', props.defaultHandler],
      ...Object.entries(props.routes),
    ];
    for (const [key, handler] of [...handlers, ['authorizer', props.authorizeHandler] as const]) {
      validateIntegrationTimeout(this, key, handler);
    }

    this.authorizer = new WebSocketLambdaAuthorizer('TokenAuthorizer', props.authorizeHandler, {
      identitySource: props.identitySource ?? ['route.request.querystring.token'],
    });
    const integration = (key: string, handler: IFunction) =>
      new WebSocketLambdaIntegration(`${routeId(key)}Integration`, handler);

    this.api = new WebSocketApi(this, 'Api', {
      apiName: props.apiName,
      routeSelectionExpression: '$request.body.action',
    });
    // The routes in one place (the same construct ids as WebSocketApi's own route options), so that each is at hand
    // for the acknowledgement below.
    const routes = [
      this.api.addRoute('$connect', {
        integration: integration('$connect', props.connectHandler),
        authorizer: this.authorizer,
      }),
      this.api.addRoute('$disconnect', { integration: integration('$disconnect', props.disconnectHandler) }),
      this.api.addRoute('$default', {
        integration: integration('$default', props.defaultHandler),
        returnResponse: true,
      }),
      ...Object.entries(props.routes).map(([key, handler]) =>
        this.api.addRoute(key, { integration: integration(key, handler), returnResponse: true }),
      ),
      ...Object.entries(canned).map(([key, reply]) => this.#addCannedRoute(key, reply)),
    ];
    for (const route of routes.slice(1))
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'A WebSocket API authorizes only $connect (CDK refuses an authorizer on any other route); every later frame ' +
          "travels on that authorized connection, and each route checks the caller's identity and capabilities, " +
          "which the authorizer put in the connection's context.",
      });

    // autoDeploy: every change to routes goes live with the stack update; no Deployment resource to forget.
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName,
      autoDeploy: true,
      throttle,
    });
    for (const id of ['AwsSolutions-APIG1', 'Serverless-APIGWAccessLogging'])
      Validations.of(this.stage).acknowledge({
        id,
        reason:
          'An access log line is billed (CloudWatch Logs ingestion) for every frame and connect, so per message, and ' +
          "WebSocket stage logging needs the account's API Gateway CloudWatch role, which a stack cannot assume " +
          'exists. The authorizer and $connect/$disconnect log every connect, refusal and disconnect with clientId ' +
          'and connectionId, and each route logs refused frames.',
      });
  }

  /**
   * A MOCK integration: its request template gives the status the mock "backend" answers with, the integration
   * response maps that status to the reply, and the route response sends the reply to the client
   * (apigateway-websocket-api-integration-responses.html: a non-proxy integration needs at least one integration
   * response; `$default` takes every status). `\$default` is a static template selection expression.
   */
  #addCannedRoute(key: string, reply: string): WebSocketRoute {
    const id = `${routeId(key)}Integration`;
    const route = this.api.addRoute(key, {
      integration: new WebSocketMockIntegration(id, {
        requestTemplates: { $default: JSON.stringify({ statusCode: 200 }) },
        templateSelectionExpression: '\\$default',
      }),
      returnResponse: true,
    });
    // The L2 integration has no integration responses; the L1 one refers to the integration the route made.
    const bound = route.node.findChild(id) as WebSocketIntegration;
    new CfnIntegrationResponse(this, `${routeId(key)}IntegrationResponse`, {
      apiId: this.api.apiId,
      integrationId: bound.integrationId,
      integrationResponseKey: '$default',
      responseTemplates: { $default: reply },
      templateSelectionExpression: '\\$default',
    });
    return route;
  }

  /** `wss://{apiId}.execute-api.{region}.{suffix}/{stage}`: what clients connect to. */
  public get url(): string {
    return this.stage.url;
  }

  /** `https://{apiId}.execute-api.{region}.{suffix}/{stage}`: the `@connections` endpoint for pushes. */
  public get callbackUrl(): string {
    return this.stage.callbackUrl;
  }

  /**
   * Allows `grantee` the `@connections` verbs it uses on this API's stage only: `execute-api:ManageConnections` on
   * `{apiId}/{stage}/{METHOD}/@connections/*` for each of `methods`, where `WebSocketApi.grantManageConnections` and
   * `WebSocketStage.grantManagementApiAccess` allow every verb (and the former every stage). The connection id stays
   * a wildcard: connections are made at run time.
   *
   * @example api.grantManageConnections(deliver, ['POST']);
   */
  public grantManageConnections(grantee: IGrantable, methods: readonly ConnectionMethod[]): Grant {
    const verbs = [...new Set(methods)];
    if (verbs.length === 0)
      throw new Error(`PostboxWebSocketApi ${this.node.path}: grantManageConnections needs at least one method`);
    const stack = Stack.of(this);
    const arn = (method: ConnectionMethod) =>
      stack.formatArn({
        service: 'execute-api',
        resource: this.api.apiId,
        resourceName: `${this.stage.stageName}/${method}/@connections/*`,
      });
    const grant = Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:ManageConnections'],
      resourceArns: verbs.map(arn),
    });
    // cdk-nag names the finding by the resource as it renders it: the API's logical id in angle brackets.
    const apiId = `<${stack.getLogicalId(this.api.node.defaultChild as CfnElement)}>`;
    const principal = grantee.grantPrincipal;
    const holder = Construct.isConstruct(principal) ? principal : Construct.isConstruct(grantee) ? grantee : undefined;
    if (!holder) throw new Error(`PostboxWebSocketApi ${this.node.path}: grantManageConnections needs a construct`);
    for (const method of verbs)
      Validations.of(holder).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:${apiId}/${this.stage.stageName}/${method}/@connections/*]`,
        reason:
          'The wildcard is the connection id, made by API Gateway at run time; the grant names this API, this stage ' +
          'and the one verb the function uses.',
      });
    return grant;
  }
}

/** `$connect` → `Connect`, `subscribe` → `Subscribe`: construct ids without `$`. */
function routeId(key: string): string {
  const bare = key.replace(/^\$/, '');
  return bare.charAt(0).toUpperCase() + bare.slice(1);
}

function validateStageName(scope: Construct, stageName: string): void {
  // API Gateway stage names: letters, digits, hyphens and underscores, at most 128 characters.
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) {
    throw new Error(`PostboxWebSocketApi ${scope.node.path}: invalid stage name "${stageName}"`);
  }
}

function validateThrottle(scope: Construct, throttle: ThrottleSettings): void {
  const { rateLimit, burstLimit } = throttle;
  // A zero limit would refuse every frame: almost certainly a typo, never a policy.
  if (rateLimit !== undefined && !(rateLimit > 0)) {
    throw new Error(`PostboxWebSocketApi ${scope.node.path}: throttle.rateLimit must be positive, got ${rateLimit}`);
  }
  if (burstLimit !== undefined && !(Number.isInteger(burstLimit) && burstLimit > 0)) {
    throw new Error(
      `PostboxWebSocketApi ${scope.node.path}: throttle.burstLimit must be a positive integer, got ${burstLimit}`,
    );
  }
}

function validateIntegrationTimeout(scope: Construct, key: string, handler: RouteHandler): void {
  const seconds = handler.timeout?.toSeconds();
  if (seconds !== undefined && seconds > INTEGRATION_TIMEOUT_SECONDS) {
    throw new Error(
      `PostboxWebSocketApi ${scope.node.path}: route ${key} handler times out after ${seconds} s, ` +
        `but API Gateway gives up on an integration after ${INTEGRATION_TIMEOUT_SECONDS} s`,
    );
  }
}
