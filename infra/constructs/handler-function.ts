import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
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
   * Powertools Logger level (`POWERTOOLS_LOG_LEVEL`).
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

    // Logs are diagnostics, not data: they go with the stack, and a week is enough to debug an incident.
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
    });

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
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'postbox',
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
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
  }

  /** Puts `table`'s name in the variable `variable` and grants `access` on it (never Scan). */
  public bindTable(variable: string, table: Table, access: TableAccess): this {
    this.function.addEnvironment(variable, table.tableName);
    grantTableAccess(table, this.function, access);
    return this;
  }
}
