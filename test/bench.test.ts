import { describe, expect, it } from 'vitest';
import { CapacityEstimator, itemSize } from '../scripts/bench/capacity.js';
import { costOf } from '../scripts/bench/cost.js';
import { percentile, summarize } from '../scripts/bench/stats.js';
import { Tally } from '../scripts/bench/tally.js';

const inbox = { hash: 'clientId', range: 'messageId', lsiKeys: ['seq'] };
const subscriptions = { hash: 'topic', range: 'clientId', lsiKeys: [] };

describe('bench statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 50), percentile(values, 95), percentile(values, 99)]).toEqual([50, 95, 99]);
    expect(summarize([3, 1, 2])).toMatchObject({ count: 3, p50: 2, max: 3, mean: 2 });
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('bench capacity estimate', () => {
  it('sizes items as DynamoDB does: names plus values', () => {
    expect(itemSize({ clientId: { S: 'alice' }, attempt: { N: '1' } })).toBe(8 + 5 + 7 + 2);
  });

  it('charges one unit per KB plus one per LSI key carried, on write and on delete', () => {
    const estimator = new CapacityEstimator(new Map([['inbox', inbox]]));
    const item = { clientId: { S: 'a' }, messageId: { S: 'm1' }, seq: { S: 's' }, message: { S: 'x'.repeat(1500) } };
    estimator.observe('BatchWriteItem', JSON.stringify({ RequestItems: { inbox: [{ PutRequest: { Item: item } }] } }));
    expect(estimator.writeUnits).toBe(3);
    estimator.observe(
      'BatchWriteItem',
      JSON.stringify({
        RequestItems: { inbox: [{ DeleteRequest: { Key: { clientId: { S: 'a' }, messageId: { S: 'm1' } } } }] },
      }),
    );
    expect(estimator.writeUnits).toBe(6);
  });

  it('charges half a unit per 4 KB a Query reads, at least half a unit', () => {
    const estimator = new CapacityEstimator(new Map([['subs', subscriptions]]));
    for (let i = 0; i < 200; i++) {
      const Item = { topic: { S: 't' }, clientId: { S: `client-${i}`.padEnd(40, '-') } };
      estimator.observe('PutItem', JSON.stringify({ TableName: 'subs', Item }));
    }
    const query = (topic: string) =>
      JSON.stringify({
        TableName: 'subs',
        KeyConditionExpression: '#t = :t',
        ExpressionAttributeNames: { '#t': 'topic' },
        ExpressionAttributeValues: { ':t': { S: topic } },
      });
    estimator.resetCounters();
    estimator.observe('Query', query('t')); // 200 × 54 bytes ≈ 10.5 KB → 3 × 0.5
    estimator.observe('Query', query('nobody'));
    expect(estimator.readUnits).toBe(2);
  });

  it('prices a Query by what its key condition selects: a sort-key prefix, a Limit, a keys-only index', () => {
    const jobs = { hash: 'queue', range: 'key', lsiKeys: ['order'], lsis: [{ name: 'byOrder', keysOnly: true }] };
    const estimator = new CapacityEstimator(new Map([['jobs', jobs]]));
    for (let i = 0; i < 100; i++) {
      const Item = {
        queue: { S: 'q' },
        key: { S: `j#${i}` },
        order: { S: `ready#${i}` },
        payload: { S: 'x'.repeat(4000) },
      };
      estimator.observe('PutItem', JSON.stringify({ TableName: 'jobs', Item }));
    }
    const consumer = { queue: { S: 'q' }, key: { S: 'c#1' }, prefetch: { N: '1' } };
    estimator.observe('PutItem', JSON.stringify({ TableName: 'jobs', Item: consumer }));
    const query = (extra: Record<string, unknown>, condition = '#q = :q') =>
      JSON.stringify({
        TableName: 'jobs',
        KeyConditionExpression: condition,
        ExpressionAttributeNames: { '#q': 'queue', '#k': 'key' },
        ExpressionAttributeValues: { ':q': { S: 'q' }, ':c': { S: 'c#' } },
        ConsistentRead: true,
        ...extra,
      });
    const unitsOf = (body: string) => {
      estimator.resetCounters();
      estimator.observe('Query', body);
      return estimator.readUnits;
    };
    expect(unitsOf(query({}))).toBe(99); // the whole partition: ~400 KB, strongly consistent
    expect(unitsOf(query({}, '#q = :q AND begins_with(#k, :c)'))).toBe(1); // the one consumer
    expect(unitsOf(query({ Limit: 4 }))).toBe(4);
    expect(unitsOf(query({ IndexName: 'byOrder', Limit: 14 }))).toBe(1); // 14 key entries
  });
});

describe('bench cost model', () => {
  it('prices the tally per million delivered messages', () => {
    const tally = new Tally(new Map());
    tally.onEvent({ kind: 'invoke', functionName: 'Publish', ok: true, durationMs: 10 });
    tally.onEvent({ kind: 'push', connectionId: 'c', data: '{"type":"message"}' });
    tally.onRequest({ service: 'sqs', operation: 'SendMessage', body: '{}' });
    const report = costOf(tally.snapshot(), 1, 1, new Map([['Publish', 1024]]));
    expect(report.requestsPerDelivered).toBe(3);
    // Lambda 0.2 + 0.01 s × 1 GB × 13,333.4 per M; SQS 0.4; API GW in 1 + out 1.
    expect(report.usdPerMillion).toBeCloseTo(0.2 + 0.133334 + 0.4 + 2, 5);
  });

  it('prices requests to a FIFO queue at the FIFO rate', () => {
    const tally = new Tally(new Map());
    tally.onRequest({
      service: 'sqs',
      operation: 'SendMessage',
      body: '{"QueueUrl":"http://127.0.0.1:1/1/ingest.fifo"}',
    });
    tally.onRequest({ service: 'sqs', operation: 'SendMessage', body: '{"QueueUrl":"http://127.0.0.1:1/1/push"}' });
    expect(costOf(tally.snapshot(), 1, 0, new Map()).usdPerMillion).toBeCloseTo(0.5 + 0.4, 5);
  });
});
