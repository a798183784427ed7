import { z } from 'zod';

/** The IAM-policy form a REQUEST authorizer returns (apigateway-websocket-api-lambda-auth.html). */
const StatementSchema = z.object({
  Effect: z.enum(['Allow', 'Deny']),
  Action: z.union([z.string(), z.array(z.string())]).optional(),
  Resource: z.union([z.string(), z.array(z.string())]).optional(),
});

export const AuthorizerResultSchema = z.object({
  principalId: z.string(),
  policyDocument: z.object({ Version: z.string().optional(), Statement: z.array(StatementSchema) }),
  context: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).nullish(),
});

export type AuthorizerResult = z.infer<typeof AuthorizerResultSchema>;

/**
 * IAM evaluation reduced to one request: an explicit Deny on a matching statement wins, otherwise some Allow must
 * cover both the action `execute-api:Invoke` and the `$connect` method ARN (wildcards `*` and `?` as in IAM).
 */
export function allows(result: AuthorizerResult, methodArn: string): boolean {
  const matching = result.policyDocument.Statement.filter(
    (s) => covers(s.Action ?? '*', 'execute-api:Invoke', 'i') && covers(s.Resource ?? '*', methodArn, ''),
  );
  return matching.some((s) => s.Effect === 'Allow') && !matching.some((s) => s.Effect === 'Deny');
}

/** IAM compares actions case-insensitively and resources case-sensitively. */
function covers(patterns: string | string[], value: string, flags: 'i' | ''): boolean {
  return (Array.isArray(patterns) ? patterns : [patterns]).some((pattern) => wildcard(pattern, flags).test(value));
}

function wildcard(pattern: string, flags: 'i' | ''): RegExp {
  const source = [...pattern]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, flags);
}
