import { App, Duration, Stack } from 'aws-cdk-lib';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { MessageQueue } from '../../infra/constructs/message-queue.js';
import { QueueAlarms } from '../../infra/constructs/queue-alarms.js';
import { PostboxWebSocketApi, type PostboxWebSocketApiProps } from '../../infra/constructs/websocket-api.js';
import { SKIP_BUNDLING, synthPostbox } from './helpers.js';

function scope(): Stack {
  return new Stack(new App({ context: SKIP_BUNDLING }), 'Test');
}

function inlineFunction(stack: Stack, id: string, timeout: Duration): LambdaFunction {
  return new LambdaFunction(stack, id, {
    runtime: Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: Code.fromInline('export const handler = async () => ({ statusCode: 200 });'),
    timeout,
  });
}

function apiProps(stack: Stack, overrides: Partial<PostboxWebSocketApiProps> = {}): PostboxWebSocketApiProps {
  const fn = (id: string) => inlineFunction(stack, id, Duration.seconds(10));
  return {
    authorizeHandler: fn('Authorize'),
    connectHandler: fn('Connect'),
    disconnectHandler: fn('Disconnect'),
    defaultHandler: fn('Default'),
    routes: { publish: fn('Publish') },
    ...overrides,
  };
}

describe('synth-time validation', () => {
  it('refuses a queue whose visibility timeout is under six consumer timeouts', () => {
    expect(
      () =>
        new MessageQueue(scope(), 'Queue', {
          consumerTimeout: Duration.seconds(30),
          visibilityTimeout: Duration.seconds(179),
        }),
    ).toThrow(/visibility timeout 179 s is less than 6 × consumer timeout \(30 s\).*= 180 s/);
  });

  it('accepts exactly six consumer timeouts', () => {
    expect(
      () =>
        new MessageQueue(scope(), 'Queue', {
          consumerTimeout: Duration.seconds(30),
          visibilityTimeout: Duration.seconds(180),
        }),
    ).not.toThrow();
  });

  it('checks the consumer’s real timeout and batching window when it is attached', () => {
    const stack = scope();
    const queue = new MessageQueue(stack, 'Queue', { consumerTimeout: Duration.seconds(10) });
    expect(() => queue.addConsumer(inlineFunction(stack, 'Slow', Duration.seconds(11)))).toThrow(
      /6 × consumer timeout \(11 s\) \+ batching window \(0 s\) = 66 s/,
    );
    expect(() =>
      queue.addConsumer(inlineFunction(stack, 'Windowed', Duration.seconds(10)), {
        maxBatchingWindow: Duration.seconds(1),
      }),
    ).toThrow(/= 61 s/);
    expect(() => queue.addConsumer(inlineFunction(stack, 'Fits', Duration.seconds(10)))).not.toThrow();
  });

  it('refuses a DLQ threshold SQS would reject', () => {
    expect(() => new MessageQueue(scope(), 'Queue', { maxReceiveCount: 0 })).toThrow(
      /maxReceiveCount must be an integer from 1 to 1000/,
    );
    expect(() => new MessageQueue(scope(), 'Queue', { maxReceiveCount: 1001 })).toThrow(/maxReceiveCount/);
  });

  it('refuses an event-source concurrency Lambda would reject', () => {
    const stack = scope();
    const queue = new MessageQueue(stack, 'Queue', { consumerTimeout: Duration.seconds(10) });
    expect(() => queue.addConsumer(inlineFunction(stack, 'Fn', Duration.seconds(10)), { maxConcurrency: 1 })).toThrow(
      /maxConcurrency must be an integer from 2 to 1000, got 1/,
    );
  });

  it('refuses a route handler that outlives API Gateway’s 29 s integration timeout', () => {
    const stack = scope();
    const props = apiProps(stack, { routes: { replay: inlineFunction(stack, 'Replay', Duration.seconds(30)) } });
    expect(() => new PostboxWebSocketApi(stack, 'Api', props)).toThrow(/route replay handler times out after 30 s/);
  });

  it('refuses route keys that API Gateway reserves', () => {
    const stack = scope();
    const props = apiProps(stack, { routes: { $connect: inlineFunction(stack, 'Other', Duration.seconds(5)) } });
    expect(() => new PostboxWebSocketApi(stack, 'Api', props)).toThrow(/route key "\$connect" is reserved/);
  });

  it.each([
    [{ throttle: { rateLimit: 0 } }, /rateLimit must be positive, got 0/],
    [{ throttle: { burstLimit: 0.5 } }, /burstLimit must be a positive integer, got 0.5/],
    [{ stageName: 'my stage' }, /invalid stage name "my stage"/],
    [{ stageName: '' }, /invalid stage name ""/],
  ] as const)('refuses %o', (overrides, message) => {
    const stack = scope();
    expect(() => new PostboxWebSocketApi(stack, 'Api', apiProps(stack, overrides))).toThrow(message);
  });

  it('refuses negative alarm thresholds', () => {
    const stack = scope();
    const { queue, deadLetterQueue } = new MessageQueue(stack, 'Queue');
    expect(() => new QueueAlarms(stack, 'Alarms', { queue, deadLetterQueue, deadLetterThreshold: -1 })).toThrow(
      /deadLetterThreshold must be a non-negative integer/,
    );
  });

  it('surfaces the checks through the stack’s own props', () => {
    expect(() => synthPostbox({ delivery: { maxConcurrency: 1001 } })).toThrow(/maxConcurrency/);
    expect(() => synthPostbox({ stageName: 'a/b' })).toThrow(/invalid stage name/);
    expect(() => synthPostbox({ maxPayloadBytes: 131072 })).toThrow(
      /maxPayloadBytes must be 1–129903 \(128 KB less the 1169 bytes a pushed frame adds\), got 131072/,
    );
  });

  it('checks the default capabilities and the token lifetime in a sentence', () => {
    expect(() => synthPostbox({ defaultCapabilities: { 'news/*': ['read' as never] } })).toThrow(
      /defaultCapabilities: news\/\*\.0: /,
    );
    expect(() => synthPostbox({ maxTokenLifetime: Duration.seconds(10) })).toThrow(
      /maxTokenLifetime must be at least a minute/,
    );
  });

  it('checks each named work queue: its name and its settings, in a sentence naming it', () => {
    expect(() => synthPostbox({ workQueues: { queues: { 'no spaces': {} } } })).toThrow(
      /workQueues.queues: 'no spaces' is not a queue name/,
    );
    expect(() => synthPostbox({ workQueues: { queues: { orders: { leaseTime: Duration.hours(13) } } } })).toThrow(
      /workQueues.queues\['orders'\].leaseTime must be 1 s–12 h, got 46800 s/,
    );
    expect(() => synthPostbox({ workQueues: { queues: { orders: { maxDeliveries: 0 } } } })).toThrow(
      /workQueues.queues\['orders'\].maxDeliveries must be an integer from 1 to 1000, got 0/,
    );
    const many = Object.fromEntries(
      Array.from({ length: 60 }, (_, n) => [`queue-${n}`, { leaseTime: Duration.minutes(5) }]),
    );
    expect(() => synthPostbox({ workQueues: { queues: many } })).toThrow(/at most 2048 \(about 30 queues\)/);
  });
});
