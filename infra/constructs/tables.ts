import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { JOBS_BY_ORDER_INDEX, SUBSCRIPTIONS_BY_CLIENT_INDEX, TTL_ATTRIBUTE } from '../../functions/lib/keys.js';

/**
 * What a function may do with a table.
 *
 * - `read`: GetItem, BatchGetItem, Query, ConditionCheckItem (never Scan: every access path is keyed).
 * - `write`: PutItem, UpdateItem, DeleteItem, BatchWriteItem.
 * - `readWrite`: both.
 */
export type TableAccess = 'read' | 'write' | 'readWrite';

/**
 * Read actions without `dynamodb:Scan`. CDK's `grantReadData` includes Scan; Postbox has no access path that
 * needs one (docs/architecture.md, "Access paths"), so a leaked role cannot dump another client's inbox.
 */
const READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
];
const WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:DescribeTable',
];

/**
 * Grants `access` on `table` (and its indexes) to `grantee`, without Scan.
 *
 * @example grantTableAccess(tables.inbox, deliver, 'readWrite');
 */
export function grantTableAccess(table: Table, grantee: IGrantable, access: TableAccess): void {
  const actions =
    access === 'read' ? READ_ACTIONS : access === 'write' ? WRITE_ACTIONS : [...READ_ACTIONS, ...WRITE_ACTIONS];
  table.grant(grantee, ...new Set(actions));
}

/** Properties of {@link PostboxTables}. */
export interface PostboxTablesProps {
  /**
   * What CloudFormation does with the tables when they leave the stack. Inboxes hold messages nobody else has,
   * so the default keeps them; use `DESTROY` for throwaway stacks.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Continuous backups (restore to any second of the last 35 days).
   *
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;
}

/**
 * The five tables of docs/architecture.md, keyed exactly as the handlers expect. All on-demand (traffic is bursty
 * and unknown up front), with TTL on `expiresAt`.
 */
export class PostboxTables extends Construct {
  /** `clientId` (S) / `connectionId` (S): a client's live connections. */
  public readonly connections: Table;
  /** `topic` (S) / `clientId` (S): durable subscriptions; GSI `byClient` (`clientId` / `topic`, with `expiresAt`). */
  public readonly subscriptions: Table;
  /** `clientId` (S) / `seq` (S): unacked messages, in the order the client gets them. */
  public readonly inbox: Table;
  /** `messageId` (S): markers of messages already fanned out, so an SQS duplicate cannot resurrect an acked one. */
  public readonly processed: Table;
  /**
   * `queue` (S) / `key` (S): a work queue's jobs (`j#<id>`) and consumers (`c#<connectionId>`); LSI `byOrder`
   * (`queue` / `order`, keys only): ready jobs by when they are ready, dead ones by when they died.
   */
  public readonly jobs: Table;

  constructor(scope: Construct, id: string, props: PostboxTablesProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const pointInTimeRecoveryEnabled = props.pointInTimeRecovery ?? true;
    const common = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      removalPolicy,
    };
    const key = (name: string) => ({ name, type: AttributeType.STRING });

    this.connections = new Table(this, 'Connections', {
      ...common,
      partitionKey: key('clientId'),
      sortKey: key('connectionId'),
    });
    this.subscriptions = new Table(this, 'Subscriptions', {
      ...common,
      partitionKey: key('topic'),
      sortKey: key('clientId'),
    });
    // Written only on subscribe, unsubscribe and the refresh at connect (at most daily per subscription), never per
    // message; it lets $connect find a client's subscriptions to keep them from expiring.
    this.subscriptions.addGlobalSecondaryIndex({
      indexName: SUBSCRIPTIONS_BY_CLIENT_INDEX,
      partitionKey: key('clientId'),
      sortKey: key('topic'),
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: [TTL_ATTRIBUTE],
    });
    // The sort key is the order itself, so a catch-up is one Query on the base table (strongly consistent) and no
    // index doubles the cost of every inbox write and ack, nor caps a client's items at an LSI's 10 GB.
    this.inbox = new Table(this, 'Inbox', {
      ...common,
      partitionKey: key('clientId'),
      sortKey: key('seq'),
    });
    this.processed = new Table(this, 'Processed', {
      ...common,
      partitionKey: key('messageId'),
    });
    // A local index, not a global one: "the oldest ready job" must be read strongly consistent, or a job made ready
    // a moment ago could wait beside a consumer with room. The price is a 10 GB cap per queue (docs/architecture.md).
    this.jobs = new Table(this, 'Jobs', {
      ...common,
      partitionKey: key('queue'),
      sortKey: key('key'),
    });
    this.jobs.addLocalSecondaryIndex({
      indexName: JOBS_BY_ORDER_INDEX,
      sortKey: key('order'),
      projectionType: ProjectionType.KEYS_ONLY,
    });
  }
}
