import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_NAMES, type HandlerName } from '../../infra/postbox-stack.js';
import { exactGrantsByRole, logicalId, roleOf, type Synthesized, synthPostbox } from './helpers.js';

type Table = 'connections' | 'subscriptions' | 'inbox' | 'processed' | 'jobs';
type Queue = 'queue' | 'pushQueue';

/**
 * The SDK commands each handler's code sends (functions/<name>.ts and what it calls in functions/lib), as the grants
 * they need. Written out by hand from the code on purpose: a grant the stack widens, or one it adds, fails here.
 */
interface Needs {
  tables?: Partial<Record<Table, string[]>>;
  /** Indexes queried, by table. */
  indexes?: Partial<Record<Table, string[]>>;
  /** Attributes an UpdateItem may touch besides the key (a conditioned grant). */
  updateOnly?: Partial<Record<Table, string[]>>;
  send?: Queue[];
  /** The SQS event source mapping's own polling (CDK's SqsEventSource grant). */
  consumes?: Queue;
  secret?: boolean;
  /** `@connections` verbs. */
  connections?: string[];
}

/** Leasing a job (dispatch, offer, fill): consumers and ready jobs read, job and consumer written, the job pushed. */
const LEASING = ['Query', 'UpdateItem', 'DeleteItem'];
const JOBS_INDEX = { jobs: ['byOrder'] };
const PUSHES_JOBS = { send: ['pushQueue'] as Queue[], connections: ['POST'], indexes: JOBS_INDEX };

/** A frame route also counts the connection's frames on its row: an update of the count's attributes only. */
function framed(needs: Needs): Needs {
  return { ...needs, updateOnly: { ...needs.updateOnly, connections: ['fw', 'fc', 'fp'] } };
}

const NEEDS: Record<HandlerName, Needs> = {
  authorize: { secret: true },
  connect: {
    tables: { connections: ['PutItem'], subscriptions: ['UpdateItem', 'DeleteItem'] },
    indexes: { subscriptions: ['byClient'] },
    send: ['pushQueue'],
  },
  disconnect: { tables: { connections: ['DeleteItem'], jobs: ['BatchGetItem', ...LEASING] }, ...PUSHES_JOBS },
  default: framed({}),
  subscribe: framed({ tables: { subscriptions: ['PutItem'] } }),
  unsubscribe: framed({ tables: { subscriptions: ['DeleteItem'] } }),
  publish: framed({ send: ['queue'] }),
  send: framed({ send: ['queue'] }),
  ack: framed({
    tables: { inbox: ['Query', 'DeleteItem'], jobs: ['GetItem', ...LEASING] },
    updateOnly: { inbox: ['acked'] },
    ...PUSHES_JOBS,
  }),
  replay: framed({
    tables: { inbox: ['Query', 'DeleteItem'] },
    updateOnly: { inbox: ['attempt'] },
    connections: ['POST'],
  }),
  deliver: {
    tables: {
      subscriptions: ['Query'],
      connections: ['Query', 'DeleteItem'],
      inbox: ['BatchWriteItem'],
      processed: ['BatchGetItem', 'BatchWriteItem'],
    },
    updateOnly: { connections: ['held', 'heldAt', 'late', 'released'] },
    consumes: 'queue',
    send: ['pushQueue'],
    connections: ['POST'],
  },
  redeliver: {
    tables: {
      inbox: ['Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
      connections: ['Query', 'GetItem'],
      jobs: ['BatchGetItem', ...LEASING],
    },
    updateOnly: { connections: ['held', 'heldAt', 'late', 'released'] },
    consumes: 'pushQueue',
    ...PUSHES_JOBS,
  },
  enqueue: framed({ tables: { jobs: ['PutItem', ...LEASING] }, ...PUSHES_JOBS }),
  consume: framed({ tables: { connections: ['UpdateItem'], jobs: LEASING }, ...PUSHES_JOBS }),
  cancel: framed({ tables: { jobs: ['UpdateItem'] } }),
  nack: framed({ tables: { jobs: ['GetItem', ...LEASING] }, ...PUSHES_JOBS }),
  extend: framed({ tables: { jobs: ['GetItem', 'UpdateItem'] } }),
};

/** What the Lambda service polls an SQS queue with for an event source mapping (CDK's `grantConsumeMessages`). */
const ESM_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:GetQueueUrl',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
];

const KEYS: Record<Table, string[]> = {
  connections: ['clientId', 'connectionId'],
  subscriptions: ['topic', 'clientId'],
  inbox: ['clientId', 'seq'],
  processed: ['messageId'],
  jobs: ['queue', 'key'],
};

describe('IAM: least privilege', () => {
  let synth: Synthesized;
  let template: Template;
  let grants: Map<string, string[]>;
  let expected: (name: HandlerName) => string[];
  beforeAll(() => {
    synth = synthPostbox();
    template = synth.template;
    grants = exactGrantsByRole(template);
    const { tables, messageQueue, pushQueue, tokenSecret, webSocket } = synth.stack;
    const arn = (construct: Parameters<typeof logicalId>[0]) => `<${logicalId(construct)}.Arn>`;
    const tableArn = (table: Table) => arn(tables[table]);
    const queueArn = (queue: Queue) => arn(queue === 'queue' ? messageQueue.queue : pushQueue.queue);
    expected = (name) => {
      const needs = NEEDS[name];
      const logs = arn(synth.stack.handlers[name].logGroup);
      return [
        `logs:CreateLogStream @ ${logs}`,
        `logs:PutLogEvents @ ${logs}`,
        ...Object.entries(needs.tables ?? {}).flatMap(([table, actions]) =>
          actions.map((action) => `dynamodb:${action} @ ${tableArn(table as Table)}`),
        ),
        ...Object.entries(needs.indexes ?? {}).flatMap(([table, indexes]) =>
          indexes.map((index) => `dynamodb:Query @ ${tableArn(table as Table)}/index/${index}`),
        ),
        ...Object.entries(needs.updateOnly ?? {}).map(([table, attributes]) => {
          const condition = {
            'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...KEYS[table as Table], ...attributes] },
            StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
          };
          return `dynamodb:UpdateItem @ ${tableArn(table as Table)} if ${JSON.stringify(condition)}`;
        }),
        ...(needs.send ?? []).map((queue) => `sqs:SendMessage @ ${queueArn(queue)}`),
        ...(needs.consumes ? ESM_ACTIONS.map((action) => `${action} @ ${queueArn(needs.consumes as Queue)}`) : []),
        ...(needs.secret ? [`secretsmanager:GetSecretValue @ <${logicalId(tokenSecret)}>`] : []),
        ...(needs.connections ?? []).map(
          (verb) =>
            `execute-api:ManageConnections @ arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:` +
            `<${logicalId(webSocket.api)}>/prod/${verb}/@connections/*`,
        ),
      ].sort();
    };
  });

  const grantsOf = (name: HandlerName) => [...(grants.get(roleOf(template, synth.functionId(name))) ?? [])].sort();

  it.each(HANDLER_NAMES)('grants %s exactly the actions its code calls, on exactly what it calls them on', (name) => {
    expect(grantsOf(name)).toEqual(expected(name));
  });

  it('lets ack delete inbox items and mark them acked, but never put or rewrite one', () => {
    const inbox = grantsOf('ack').filter((grant) => grant.includes(logicalId(synth.stack.tables.inbox)));
    for (const action of ['PutItem', 'BatchWriteItem']) expect(inbox.join('\n')).not.toContain(`dynamodb:${action}`);
    const updates = inbox.filter((grant) => grant.startsWith('dynamodb:UpdateItem'));
    expect(updates).toHaveLength(1);
    expect(updates[0]).toContain('"dynamodb:Attributes":["clientId","seq","acked"]');
  });

  it('grants DescribeTable, Scan, ConditionCheckItem and dynamodb wildcards to no one', () => {
    const all = [...grants.values()].flat();
    expect(all.some((grant) => grant.startsWith('dynamodb:Query'))).toBe(true);
    for (const action of ['DescribeTable', 'Scan', 'ConditionCheckItem', '*'])
      expect(all.filter((grant) => grant.startsWith(`dynamodb:${action} `))).toEqual([]);
  });

  it('names the index in every index grant: no index/* anywhere', () => {
    const all = [...grants.values()].flat();
    expect(all.filter((grant) => grant.includes('/index/')).length).toBeGreaterThan(0);
    expect(all.filter((grant) => grant.includes('/index/*'))).toEqual([]);
  });

  it('allows only POST on @connections, and only to the functions that push', () => {
    const verbs = [...grants.entries()].flatMap(([role, list]) =>
      list
        .filter((grant) => grant.startsWith('execute-api:'))
        .map((grant) => ({ role, verb: /\/prod\/([^/]+)\/@connections\//.exec(grant)?.[1] })),
    );
    expect(new Set(verbs.map((v) => v.verb))).toEqual(new Set(['POST']));
    const pushers = HANDLER_NAMES.filter((name) => NEEDS[name].connections);
    expect(verbs.map((v) => v.role).sort()).toEqual(pushers.map((n) => roleOf(template, synth.functionId(n))).sort());
  });

  it('lets only authorize read the signing key', () => {
    const readers = [...grants.entries()].filter(([, list]) => list.some((g) => g.startsWith('secretsmanager:')));
    expect(readers.map(([role]) => role)).toEqual([roleOf(template, synth.functionId('authorize'))]);
  });

  it('attaches no managed policy: each role writes to its own log group only', () => {
    const roles = template.findResources('AWS::IAM::Role');
    expect(Object.keys(roles)).toHaveLength(HANDLER_NAMES.length);
    for (const role of Object.values(roles)) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('gives every function its own role', () => {
    const roles = HANDLER_NAMES.map((name) => roleOf(template, synth.functionId(name)));
    expect(new Set(roles).size).toBe(HANDLER_NAMES.length);
  });
});
