import { Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, type NagPack, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Synthesized, synthPostbox } from './helpers.js';

/**
 * cdk-nag's AwsSolutions and Serverless packs over the stack as `cdk deploy` would build it. Every finding is either
 * fixed or acknowledged, with its reason, by the construct that makes the resource (`Validations.of(...)
 * .acknowledge`, cdk-nag 3's replacement for NagSuppressions); none is acknowledged for the whole stack. So a new
 * finding, error or warning, fails here.
 */
function findings(synth: Synthesized, packs: NagPack[] = [new AwsSolutionsChecks(), new ServerlessChecks()]) {
  return packs.flatMap((pack) =>
    pack.validateScope(synth.stack).violations.map((violation) => ({
      rule: violation.ruleName,
      severity: violation.severity,
      resources: violation.violatingResources.map(
        (resource) => resource.constructPath ?? resource.resourceLogicalId ?? '?',
      ),
    })),
  );
}

describe('cdk-nag', () => {
  let synth: Synthesized;
  beforeAll(() => {
    // Template.fromStack (inside synthPostbox) synthesizes first, so the packs see every resource CDK adds late.
    synth = synthPostbox();
  });

  it('finds no unacknowledged AwsSolutions or Serverless error or warning on the stack', () => {
    expect(findings(synth)).toEqual([]);
  });

  it('acknowledges nothing on the stack itself: every reason sits on the construct it is about', () => {
    const onStack = synth.stack.node.metadata.filter(
      (entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY,
    );
    expect(onStack).toEqual([]);
  });

  it('fails on a new finding: a queue added without a dead-letter queue or a TLS policy', () => {
    const withQueue = synthPostbox({}, (stack) => new Queue(stack, 'Unchecked'));
    const found = findings(withQueue);
    expect(found.map((f) => f.rule)).toEqual(expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']));
    expect(found.flatMap((f) => f.resources).every((path) => path.startsWith('Postbox/Unchecked/'))).toBe(true);
  });
});
