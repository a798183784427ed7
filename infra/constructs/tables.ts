import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { JOBS_BY_ORDER_INDEX, SUBSCRIPTIONS_BY_CLIENT_INDEX, TTL_ATTRIBUTE } from '../../functions/lib/keys.js';

/**
 * A DynamoDB data-plane action, named like the SDK command that needs it (`QueryCommand` → `Query`). Only what
 * Postbox calls: no Scan (every access path is keyed, docs/architecture.md "Access paths"), no ConditionCheckItem
 * (no transactions), no DescribeTable (no handler reads table metadata).
 */
export type ItemAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem';

/**
 * What one function may do with one table: the actions of the SDK commands its code sends, and nothing else.
 *
 * @example { actions: ['Query', 'DeleteItem'], queryIndexes: ['byClient'] }
 */
export interface TableAccess {
  /**
   * Actions on the table's items (not its indexes).
   *
   * @default []
   */
  readonly actions?: readonly ItemAction[];

  /**
   * Indexes the function queries: `dynamodb:Query` on each by name, never `index/*`. Unknown names throw at synth.
   *
   * @default []
   */
  readonly queryIndexes?: readonly string[];

  /**
   * `dynamodb:UpdateItem` only for updates that name no attribute but the key and these, and that return at most the
   * updated ones (`ReturnValues` NONE, UPDATED_OLD or UPDATED_NEW). An unrestricted UpdateItem is an upsert that may
   * SET any attribute, as good as a PutItem; this is how a function that only marks items gets no more than that.
   * Uses the documented fine-grained condition keys `dynamodb:Attributes` and `dynamodb:ReturnValues`
   * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
   *
   * @default - no restricted UpdateItem
   */
  readonly updateOnly?: readonly string[];
}

/**
 * Grants `access` on `table` to `grantee`: one statement for the item actions on the table, one `Query` on each named
 * index, one conditioned `UpdateItem` for `updateOnly`. CDK's `Table.grant*` add `table/index/*` to every action of a
 * table with an index, and its read grants include Scan and DescribeTable; these grants name exactly what is used.
 *
 * @example grantTableAccess(tables.inbox, deliver, { actions: ['BatchWriteItem'] });
 */
export function grantTableAccess(table: Table, grantee: IGrantable, access: TableAccess): void {
  const actions = [...new Set(access.actions ?? [])];
  if (access.updateOnly && actions.includes('UpdateItem'))
    throw new Error(`grantTableAccess ${table.node.path}: UpdateItem is granted whole and as updateOnly; pick one`);
  if (actions.length > 0)
    Grant.addToPrincipal({
      grantee,
      actions: actions.map((action) => `dynamodb:${action}`),
      resourceArns: [table.tableArn],
    });
  const indexes = [...new Set(access.queryIndexes ?? [])];
  // Table.schemaV2 throws on an index the table does not have: a typo fails the synth, not the first Query.
  for (const index of indexes) table.schemaV2(index);
  if (indexes.length > 0)
    Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: indexes.map((index) => `${table.tableArn}/index/${index}`),
    });
  if (access.updateOnly) {
    // Fine-grained policies must list the key attributes too: every request names them.
    const { partitionKeys, sortKeys } = table.schemaV2();
    const attributes = [...partitionKeys, ...sortKeys].map((key) => key.name).concat(access.updateOnly);
    Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:UpdateItem'],
      resourceArns: [table.tableArn],
      conditions: {
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...new Set(attributes)] },
        StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
      },
    });
  }
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
