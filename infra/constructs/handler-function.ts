import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Architecture, LoggingFormat, Runtime, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { grantTableAccess, type TableAccess } from './tables.js';

/**
 * Lets esbuild's ESM output load CommonJS dependencies that call `require` (ESM has no `require` of its own).
 * Exported so tests can check the bundle starts with it.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/**
 * The log levels a handler may run at, each with the level of Lambda's own lines (START, REPORT, …) that goes with it.
 * Both Powertools (`POWERTOOLS_LOG_LEVEL`) and Lambda's JSON log filter (`applicationLogLevel`) know these five; with
 * JSON logs Lambda's filter decides (it sets `AWS_LAMBDA_LOG_LEVEL`, which Powertools obeys over its own variable), so
 * both are set from the one value
 * (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html).
 */
const LOG_LEVELS: Record<string, [ApplicationLogLevel, SystemLogLevel]> = {
  TRACE: [ApplicationLogLevel.TRACE, SystemLogLevel.DEBUG],
  DEBUG: [ApplicationLogLevel.DEBUG, SystemLogLevel.DEBUG],
  INFO: [ApplicationLogLevel.INFO, SystemLogLevel.INFO],
  WARN: [ApplicationLogLevel.WARN, SystemLogLevel.WARN],
  ERROR: [ApplicationLogLevel.ERROR, SystemLogLevel.WARN],
};

/** Properties of {@link HandlerFunction}. */
export interface HandlerFunctionProps {
  /** Absolute path of the handler's TypeScript file; it must export `handler`. */
  readonly entry: string;

  /** Directory holding `package-lock.json`; esbuild runs there and resolves dependencies from it. */
  readonly projectRoot: string;

  /**
   * A line for the console.
   *
   * @default - none
   */
  readonly description?: string;

  /**
   * Memory, in MB; Lambda gives CPU in proportion to it.
   *
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * Longest an invocation may run.
   *
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;

  /**
   * Environment variables besides the Powertools ones and `NODE_OPTIONS`.
   *
   * @default {}
   */
  readonly environment?: Record<string, string>;

  /**
   * Log level: TRACE, DEBUG, INFO, WARN or ERROR (any case). Sets Lambda's application log level (which filters
   * JSON logs on AWS), the matching system log level, and `POWERTOOLS_LOG_LEVEL` (what Powertools follows where no
   * such filter runs, as in the local runtime).
   *
   * @default 'INFO'
   */
  readonly logLevel?: string;

  /**
   * How long CloudWatch keeps the function's logs.
   *
   * @default RetentionDays.ONE_WEEK
   */
  readonly logRetention?: RetentionDays;
}

/**
 * One Postbox Lambda handler: Node.js 24 on arm64, bundled locally by esbuild as minified ESM with source maps,
 * JSON logs into its own log group. Tables and other resources are attached with `bindTable` and the resources' own
 * `grant*` methods, so each function carries only the variables and permissions it uses.
 */
export class HandlerFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly logGroup: LogGroup;
  /** The execution role: its log group, plus what `bindTable` and the resources' grants add. */
  public readonly role: Role;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    const memorySize = props.memorySize ?? 256;
    const timeout = props.timeout ?? Duration.seconds(10);
    if (memorySize < 128 || memorySize > 10240) {
      throw new Error(`HandlerFunction ${this.node.path}: memorySize must be 128–10240 MB, got ${memorySize}`);
    }
    if (timeout.toSeconds() < 1 || timeout.toSeconds() > 900) {
      throw new Error(`HandlerFunction ${this.node.path}: timeout must be 1–900 s, got ${timeout.toSeconds()} s`);
    }

    const logLevel = (props.logLevel ?? 'INFO').toUpperCase();
    const levels = LOG_LEVELS[logLevel];
    if (!levels) {
      throw new Error(
        `HandlerFunction ${this.node.path}: logLevel must be one of ${Object.keys(LOG_LEVELS).join(', ')}, got "${props.logLevel}"`,
      );
    }
    const [applicationLogLevel, systemLogLevel] = levels;

    // Logs are diagnostics, not data: they go with the stack, and a week is enough to debug an incident.
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // A role of its own instead of the one NodejsFunction makes with AWSLambdaBasicExecutionRole, whose managed policy
    // may create any log group and write to all of them: this one writes to its own log group only.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Postbox ${id}: its log group and what its code calls`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: `${props.projectRoot}/package-lock.json`,
      description: props.description,
      // Pinned: NODEJS_LATEST still meant nodejs22.x in early-2026 CDK releases (aws/aws-cdk#36874).
      runtime: Runtime.NODEJS_24_X,
      // Graviton: about 20% cheaper per GB-second than x86 and these handlers have no native dependencies.
      architecture: Architecture.ARM_64,
      memorySize,
      timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: applicationLogLevel,
      systemLogLevelV2: systemLogLevel,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'postbox',
        POWERTOOLS_LOG_LEVEL: logLevel,
        // Stack traces point into the TypeScript sources instead of the minified bundle.
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        banner: ESM_REQUIRE_BANNER,
        // The Node.js 24 runtime ships AWS SDK v3; bundling it would only add cold-start time.
        externalModules: ['@aws-sdk/*'],
        // Bundle with the project's own esbuild; never fall back to a Docker image (none is available offline).
        forceDockerBundling: false,
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Every Postbox function is invoked synchronously (an API Gateway route or authorizer, or an SQS event source ' +
        "mapping); a function's dead-letter queue only receives failed asynchronous invocations, and a record the " +
        "mapping gives up on goes to its source queue's dead-letter queue.",
    });
    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaTracing',
      reason:
        'X-Ray active tracing is billed per trace, so per message here; the functions log one JSON line per request ' +
        'with its ids instead. Turn tracing on where a deployment wants to pay for it.',
    });
  }

  /** Puts `table`'s name in the variable `variable` and grants `access` on it: the actions named, nothing more. */
  public bindTable(variable: string, table: Table, access: TableAccess): this {
    this.function.addEnvironment(variable, table.tableName);
    grantTableAccess(table, this.function, access);
    return this;
  }
}
