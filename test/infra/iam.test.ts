import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_NAMES, type HandlerName } from '../../infra/postbox-stack.js';
import { grantsByRole, logicalId, roleOf, type Synthesized, synthPostbox } from './helpers.js';

const READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'];
const WRITE = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
const SEND = ['sqs:SendMessage'];
const CONSUME = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'];
const SECRET = ['secretsmanager:GetSecretValue'];
const MANAGE = ['execute-api:ManageConnections'];

type Resource =
  | 'connections'
  | 'subscriptions'
  | 'inbox'
  | 'processed'
  | 'jobs'
  | 'queue'
  | 'pushQueue'
  | 'secret'
  | 'api';
type Expected = Array<[string[], Resource]>;

/** What every function that changes jobs needs: the jobs table, its timers on the push queue, pushing jobs. */
const JOB_ACCESS: Expected = [
  [[...READ, ...WRITE], 'jobs'],
  [SEND, 'pushQueue'],
  [MANAGE, 'api'],
];

/** What every frame route needs for the frame limit: to add to the count on the connection's row. */
const FRAME_ACCESS: Expected = [[['dynamodb:UpdateItem'], 'connections']];

/** The least privilege each handler needs (brief + docs/architecture.md "Access paths"). */
const EXPECTED: Record<HandlerName, Expected> = {
  authorize: [[SECRET, 'secret']],
  connect: [
    [WRITE, 'connections'],
    [[...READ, ...WRITE], 'subscriptions'],
    [SEND, 'pushQueue'],
  ],
  disconnect: [[WRITE, 'connections'], ...JOB_ACCESS],
  default: FRAME_ACCESS,
  subscribe: [[[...READ, ...WRITE], 'subscriptions'], ...FRAME_ACCESS],
  unsubscribe: [[[...READ, ...WRITE], 'subscriptions'], ...FRAME_ACCESS],
  publish: [[SEND, 'queue'], ...FRAME_ACCESS],
  send: [[SEND, 'queue'], ...FRAME_ACCESS],
  ack: [[[...READ, ...WRITE], 'inbox'], ...JOB_ACCESS, ...FRAME_ACCESS],
  replay: [[[...READ, ...WRITE], 'inbox'], [MANAGE, 'api'], ...FRAME_ACCESS],
  deliver: [
    [READ, 'subscriptions'],
    [[...READ, ...WRITE], 'connections'],
    [[...READ, ...WRITE], 'inbox'],
    [[...READ, ...WRITE], 'processed'],
    [CONSUME, 'queue'],
    [SEND, 'pushQueue'],
    [MANAGE, 'api'],
  ],
  redeliver: [
    [[...READ, ...WRITE], 'inbox'],
    [READ, 'connections'],
    [[...READ, ...WRITE], 'jobs'],
    [[...CONSUME, ...SEND], 'pushQueue'],
    [MANAGE, 'api'],
  ],
  enqueue: [...JOB_ACCESS, ...FRAME_ACCESS],
  consume: [[WRITE, 'connections'], ...JOB_ACCESS],
  cancel: [...JOB_ACCESS, ...FRAME_ACCESS],
  nack: [...JOB_ACCESS, ...FRAME_ACCESS],
  extend: [...JOB_ACCESS, ...FRAME_ACCESS],
};

/** Actions whose presence or absence the test pins; describe/metadata actions that CDK adds alongside are ignored. */
const WATCHED = [...READ, ...WRITE, 'dynamodb:Scan', ...SEND, ...CONSUME, ...SECRET, ...MANAGE];

describe('IAM: least privilege', () => {
  let synth: Synthesized;
  let template: Template;
  let ids: Record<Resource, string>;
  let grants: Map<string, Set<string>>;
  beforeAll(() => {
    synth = synthPostbox();
    template = synth.template;
    const { tables, messageQueue, pushQueue, tokenSecret, webSocket } = synth.stack;
    ids = {
      connections: logicalId(tables.connections),
      subscriptions: logicalId(tables.subscriptions),
      inbox: logicalId(tables.inbox),
      processed: logicalId(tables.processed),
      jobs: logicalId(tables.jobs),
      queue: logicalId(messageQueue.queue),
      pushQueue: logicalId(pushQueue.queue),
      secret: logicalId(tokenSecret),
      api: logicalId(webSocket.api),
    };
    grants = grantsByRole(template);
  });

  it.each(HANDLER_NAMES)('grants %s exactly the data access it uses', (name) => {
    const actual = [...(grants.get(roleOf(template, synth.functionId(name))) ?? [])]
      .filter((grant) => WATCHED.includes(grant.split(' @ ')[0] as string))
      .sort();
    const expected = EXPECTED[name].flatMap(([actions, resource]) => actions.map((a) => `${a} @ ${ids[resource]}`));
    expect(actual).toEqual([...new Set(expected)].sort());
  });

  it('never grants dynamodb:Scan or a dynamodb wildcard to anyone', () => {
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('dynamodb:Query');
    expect(policies).not.toContain('dynamodb:Scan');
    expect(policies).not.toMatch(/"dynamodb:\*"|"\*"\s*,?\s*"Effect"/);
  });

  it('grants inbox access on the table alone: it has no index to name', () => {
    const inboxResources = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>)
        .filter((s) => JSON.stringify(s.Resource).includes(ids.inbox))
        .map((s) => s.Resource),
    );
    expect(inboxResources.length).toBeGreaterThan(0);
    for (const resource of inboxResources) expect([resource].flat()).toEqual([{ 'Fn::GetAtt': [ids.inbox, 'Arn'] }]);
  });

  it('scopes ManageConnections to this API’s prod stage, for the functions that push', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>)
        .filter((s) => JSON.stringify(s.Action).includes('execute-api:ManageConnections'))
        .map((s) => ({ roles: policy.Properties.Roles, resource: s.Resource })),
    );
    const pushers = [
      'deliver',
      'redeliver',
      'replay',
      'enqueue',
      'consume',
      'cancel',
      'nack',
      'extend',
      'ack',
      'disconnect',
    ] as const;
    expect(statements).toHaveLength(pushers.length);
    const roles = statements.map((s) => JSON.stringify(s.roles)).sort();
    expect(roles).toEqual(pushers.map((n) => JSON.stringify([{ Ref: roleOf(template, synth.functionId(n)) }])).sort());
    for (const { resource } of statements) {
      expect(resource).toEqual({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':execute-api:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':',
            { Ref: ids.api },
            '/prod/*/@connections/*',
          ],
        ],
      });
    }
  });

  it('lets only authorize read the signing key', () => {
    const readers = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes('secretsmanager:GetSecretValue'),
    );
    expect(readers.map((policy) => policy.Properties.Roles)).toEqual([
      [{ Ref: roleOf(template, synth.functionId('authorize')) }],
    ]);
  });

  it('gives every function its own role', () => {
    const roles = HANDLER_NAMES.map((name) => roleOf(template, synth.functionId(name)));
    expect(new Set(roles).size).toBe(HANDLER_NAMES.length);
  });
});
