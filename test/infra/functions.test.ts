import { Duration } from 'aws-cdk-lib';
import { Capture, Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_NAMES, type HandlerName } from '../../infra/postbox-stack.js';
import { logicalId, referencedId, type Synthesized, synthPostbox } from './helpers.js';

const COMMON_ENV = ['NODE_OPTIONS', 'POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_SERVICE_NAME'];

/** What every function that changes jobs reads. */
const JOB_ENV = [
  'JOBS_TABLE',
  'CALLBACK_URL',
  'PUSH_QUEUE_URL',
  'LEASE_SECONDS',
  'MAX_DELIVERIES',
  'JOB_RETENTION_SECONDS',
  'CONNECTION_TTL_SECONDS',
];

/** What every function behind a frame route reads: the per-connection frame limit counts on the connection's row. */
const FRAME_ENV = ['CONNECTIONS_TABLE', 'FRAME_RATE', 'FRAME_BURST'];

/** docs/architecture.md, "Handlers and their environment": each function gets only what it uses. */
const ENVIRONMENT: Record<HandlerName, string[]> = {
  authorize: ['TOKEN_SECRET_ARN', 'DEFAULT_CAPS', 'MAX_TOKEN_LIFETIME_SECONDS'],
  connect: [
    'CONNECTIONS_TABLE',
    'SUBSCRIPTIONS_TABLE',
    'PUSH_QUEUE_URL',
    'CONNECTION_TTL_SECONDS',
    'SUBSCRIPTION_TTL_SECONDS',
  ],
  disconnect: ['CONNECTIONS_TABLE', ...JOB_ENV],
  default: [...FRAME_ENV],
  subscribe: ['SUBSCRIPTIONS_TABLE', 'SUBSCRIPTION_TTL_SECONDS', ...FRAME_ENV],
  unsubscribe: ['SUBSCRIPTIONS_TABLE', ...FRAME_ENV],
  publish: ['INGEST_QUEUE_URL', 'MAX_PAYLOAD_BYTES', ...FRAME_ENV],
  send: ['INGEST_QUEUE_URL', 'MAX_PAYLOAD_BYTES', ...FRAME_ENV],
  ack: ['INBOX_TABLE', ...JOB_ENV, ...FRAME_ENV],
  replay: ['INBOX_TABLE', 'CALLBACK_URL', 'MAX_PENDING_MESSAGES', ...FRAME_ENV],
  deliver: [
    'SUBSCRIPTIONS_TABLE',
    'CONNECTIONS_TABLE',
    'INBOX_TABLE',
    'PROCESSED_TABLE',
    'CALLBACK_URL',
    'PUSH_QUEUE_URL',
    'ACK_DEADLINE_SECONDS',
    'MAX_ATTEMPTS',
    'MESSAGE_TTL_SECONDS',
    'PROCESSED_TTL_SECONDS',
  ],
  redeliver: [
    'INBOX_TABLE',
    'CONNECTIONS_TABLE',
    'CALLBACK_URL',
    'PUSH_QUEUE_URL',
    'ACK_DEADLINE_SECONDS',
    'MAX_ATTEMPTS',
    'MESSAGE_TTL_SECONDS',
    'MAX_PENDING_MESSAGES',
    'JOBS_TABLE',
    'LEASE_SECONDS',
    'MAX_DELIVERIES',
    'JOB_RETENTION_SECONDS',
    'CONNECTION_TTL_SECONDS',
  ],
  enqueue: [...JOB_ENV, 'MAX_PAYLOAD_BYTES', ...FRAME_ENV],
  consume: [...JOB_ENV, ...FRAME_ENV],
  cancel: [...JOB_ENV, ...FRAME_ENV],
  nack: [...JOB_ENV, ...FRAME_ENV],
  extend: [...JOB_ENV, ...FRAME_ENV],
};

/** The parts of `AWS::Lambda::Function` properties these tests read. */
interface FunctionProperties {
  Runtime: string;
  Architectures: string[];
  Handler: string;
  MemorySize: number;
  Timeout: number;
  LoggingConfig: { LogFormat: string; LogGroup: unknown; ApplicationLogLevel?: string; SystemLogLevel?: string };
  Environment: { Variables: Record<string, unknown> };
}

describe('Lambda functions', () => {
  let synth: Synthesized;
  let template: Template;
  let fn: (name: HandlerName) => FunctionProperties;
  beforeAll(() => {
    synth = synthPostbox();
    template = synth.template;
    fn = (name) => template.toJSON().Resources[synth.functionId(name)].Properties;
  });

  it('has one function per handler file', () => {
    template.resourceCountIs('AWS::Lambda::Function', HANDLER_NAMES.length);
  });

  it.each(HANDLER_NAMES)('runs %s as ESM on Node.js 24, arm64, with JSON logs', (name) => {
    expect(fn(name)).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'INFO' },
    });
    expect(fn(name).Environment.Variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: 'postbox',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  // With JSON logs Lambda's application log level filters what reaches CloudWatch and overrides Powertools' own
  // variable: the stack's logLevel (cdk -c logLevel=…) must set both, or it has no effect on AWS.
  it.each([
    ['debug', 'DEBUG', 'DEBUG'],
    ['WARN', 'WARN', 'WARN'],
    ['ERROR', 'ERROR', 'WARN'],
  ])(
    'runs every function at logLevel %s: Lambda filters at %s (system lines at %s), Powertools too',
    (level, app, system) => {
      const s = synthPostbox({ logLevel: level });
      for (const name of HANDLER_NAMES) {
        const props = s.template.toJSON().Resources[s.functionId(name)].Properties as FunctionProperties;
        expect({ name, ...props.LoggingConfig }).toMatchObject({
          name,
          LogFormat: 'JSON',
          ApplicationLogLevel: app,
          SystemLogLevel: system,
        });
        expect(props.Environment.Variables.POWERTOOLS_LOG_LEVEL).toBe(app);
      }
    },
  );

  it('refuses a log level Lambda and Powertools do not both know', () => {
    expect(() => synthPostbox({ logLevel: 'VERBOSE' })).toThrow(
      /logLevel must be one of TRACE, DEBUG, INFO, WARN, ERROR, got "VERBOSE"/,
    );
  });

  it.each(HANDLER_NAMES)('gives %s exactly the environment variables it uses', (name) => {
    const names = Object.keys(fn(name).Environment.Variables).sort();
    expect(names).toEqual([...COMMON_ENV, ...ENVIRONMENT[name]].sort());
  });

  it('gives the authorizer the default capabilities, the token lifetime, and iss and aud when set', () => {
    const vars = (props: Parameters<typeof synthPostbox>[0]) => {
      const s = synthPostbox(props);
      return s.template.toJSON().Resources[s.functionId('authorize')].Properties.Environment.Variables;
    };
    expect(fn('authorize').Environment.Variables).toMatchObject({
      DEFAULT_CAPS: '{}',
      MAX_TOKEN_LIFETIME_SECONDS: '86400',
    });
    expect(
      vars({
        defaultCapabilities: { 'lobby/*': ['subscribe'] },
        maxTokenLifetime: Duration.hours(2),
        tokenIssuer: 'https://auth.example.com',
        tokenAudience: 'postbox',
      }),
    ).toMatchObject({
      DEFAULT_CAPS: '{"lobby/*":["subscribe"]}',
      MAX_TOKEN_LIFETIME_SECONDS: '7200',
      TOKEN_ISSUER: 'https://auth.example.com',
      TOKEN_AUDIENCE: 'postbox',
    });
  });

  it('gives every function that touches jobs the named queues’ settings, each unset one the stack’s', () => {
    const named = synthPostbox({
      workQueues: {
        leaseTime: Duration.minutes(1),
        maxDeliveries: 3,
        queues: { orders: { leaseTime: Duration.minutes(10) }, 'billing/runs': { maxDeliveries: 1 } },
      },
    });
    const expected = {
      orders: { leaseSeconds: 600, maxDeliveries: 3, retentionSeconds: 1_209_600 },
      'billing/runs': { leaseSeconds: 60, maxDeliveries: 1, retentionSeconds: 1_209_600 },
    };
    const resources = named.template.toJSON().Resources;
    for (const name of HANDLER_NAMES) {
      const variables = resources[named.functionId(name)].Properties.Environment.Variables;
      if (ENVIRONMENT[name].includes('JOBS_TABLE')) {
        expect(JSON.parse(variables.QUEUE_SETTINGS), name).toEqual(expected);
        expect([variables.LEASE_SECONDS, variables.MAX_DELIVERIES], name).toEqual(['60', '3']);
      } else expect(variables.QUEUE_SETTINGS, name).toBeUndefined();
    }
    named.template.hasOutput('WorkQueueSettings', {
      Value: JSON.stringify({ leaseSeconds: 60, maxDeliveries: 3, retentionSeconds: 1_209_600, queues: expected }),
    });
  });

  it.each(HANDLER_NAMES)('sends %s logs to its own log group kept for a week', (name) => {
    const group = referencedId(fn(name).LoggingConfig.LogGroup);
    expect(group).toBeDefined();
    expect(template.toJSON().Resources[group as string]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { RetentionInDays: 7 },
    });
  });

  it('sizes route handlers at 256 MB / 10 s, replay at the 29 s gateway limit, the queue consumers at 512 MB / 30 s', () => {
    for (const name of HANDLER_NAMES) {
      const expected =
        name === 'deliver' || name === 'redeliver'
          ? { MemorySize: 512, Timeout: 30 }
          : name === 'replay'
            ? { MemorySize: 256, Timeout: 29 }
            : { MemorySize: 256, Timeout: 10 };
      expect({ name, ...fn(name) }).toMatchObject({ name, ...expected });
    }
  });

  it('points the table variables at the right tables and the queue variables at their queues', () => {
    const { tables, messageQueue, pushQueue } = synth.stack;
    const ids = {
      CONNECTIONS_TABLE: tables.connections,
      SUBSCRIPTIONS_TABLE: tables.subscriptions,
      INBOX_TABLE: tables.inbox,
      PROCESSED_TABLE: tables.processed,
      INGEST_QUEUE_URL: messageQueue.queue,
      PUSH_QUEUE_URL: pushQueue.queue,
    };
    for (const name of HANDLER_NAMES) {
      const variables = fn(name).Environment.Variables as Record<string, unknown>;
      for (const [variable, construct] of Object.entries(ids)) {
        if (!(variable in variables)) continue;
        expect({ name, variable, ref: variables[variable] }).toEqual({
          name,
          variable,
          ref: { Ref: logicalId(construct) },
        });
      }
    }
  });

  it('gives deliver, redeliver and replay the stage callback URL, and authorize the secret', () => {
    const callback = new Capture();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PROCESSED_TABLE: Match.anyValue(), CALLBACK_URL: callback }) },
    });
    expect(callback.asObject()).toEqual(template.toJSON().Outputs.CallbackUrl.Value);
    expect(fn('replay').Environment.Variables.CALLBACK_URL).toEqual(callback.asObject());
    expect(fn('redeliver').Environment.Variables.CALLBACK_URL).toEqual(callback.asObject());
    expect(JSON.stringify(callback.asObject())).toMatch(/^\{"Fn::Join":\["",\["https:\/\/",.*"\/prod"\]\]\}$/);
    expect(referencedId(fn('authorize').Environment.Variables.TOKEN_SECRET_ARN)).toBe(
      Object.keys(template.findResources('AWS::SecretsManager::Secret'))[0],
    );
  });

  it('generates a 64-character signing key without punctuation', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
  });

  it('keeps the TTL variables in step with the queue: markers live as long as SQS keeps a message', () => {
    const retention = Object.values(template.findResources('AWS::SQS::Queue')).map(
      (queue) => queue.Properties.MessageRetentionPeriod,
    );
    expect(fn('deliver').Environment.Variables).toMatchObject({
      PROCESSED_TTL_SECONDS: String(Math.max(...retention)),
      MESSAGE_TTL_SECONDS: '1209600',
    });
    expect(fn('connect').Environment.Variables.CONNECTION_TTL_SECONDS).toBe('7500');
    // Subscriptions outlive their client's last connect by the message TTL, unless the stack says otherwise.
    expect(fn('connect').Environment.Variables.SUBSCRIPTION_TTL_SECONDS).toBe('1209600');
    expect(fn('subscribe').Environment.Variables.SUBSCRIPTION_TTL_SECONDS).toBe('1209600');
    const custom = synthPostbox({ subscriptionTtl: Duration.days(3) });
    for (const name of ['connect', 'subscribe'] as const) {
      const variables = custom.template.toJSON().Resources[custom.functionId(name)].Properties.Environment.Variables;
      expect(variables.SUBSCRIPTION_TTL_SECONDS).toBe(String(3 * 86_400));
    }
    expect(fn('publish').Environment.Variables.MAX_PAYLOAD_BYTES).toBe('65536');
  });

  it('gives every frame route the frame limit, 100 a second and 200 at once unless the stack says otherwise', () => {
    expect(fn('publish').Environment.Variables).toMatchObject({ FRAME_RATE: '100', FRAME_BURST: '200' });
    const custom = synthPostbox({ frameRate: { perSecond: 5, burst: 50 } });
    for (const name of ['default', 'ack', 'extend'] as const) {
      const variables = custom.template.toJSON().Resources[custom.functionId(name)].Properties.Environment.Variables;
      expect(variables).toMatchObject({ FRAME_RATE: '5', FRAME_BURST: '50' });
    }
    expect(() => synthPostbox({ frameRate: { perSecond: 0, burst: 10 } })).toThrow(/frameRate needs perSecond > 0/);
    expect(() => synthPostbox({ frameRate: { perSecond: 1, burst: 0.5 } })).toThrow(/a whole burst/);
  });
});
