import { App, RemovalPolicy } from 'aws-cdk-lib';
import { PostboxStack } from './postbox-stack.js';

// Context (cdk.json or `-c key=value`): stackName, stageName, logLevel, removalPolicy (retain | destroy).
const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === 'string' && value.length > 0 ? value : undefined;
};

const removalPolicies: Record<string, RemovalPolicy> = {
  retain: RemovalPolicy.RETAIN,
  destroy: RemovalPolicy.DESTROY,
};
const removalPolicyName = context('removalPolicy') ?? 'retain';
const dataRemovalPolicy = removalPolicies[removalPolicyName];
if (!dataRemovalPolicy) {
  throw new Error(`context removalPolicy must be "retain" or "destroy", got "${removalPolicyName}"`);
}

const stackName = context('stackName') ?? 'Postbox';
// No `env`: the template stays environment-agnostic, so `cdk synth` needs no credentials and the local runtime
// can read it as is; account and region come from the deploying profile.
new PostboxStack(app, stackName, {
  stackName,
  description: 'Postbox: serverless message queue over WebSockets (API Gateway, Lambda, SQS, DynamoDB)',
  stageName: context('stageName'),
  logLevel: context('logLevel'),
  dataRemovalPolicy,
});
