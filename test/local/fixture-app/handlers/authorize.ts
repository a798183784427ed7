/** Allows any connection that names itself with `?name=`, except `mallory`; the name becomes the principal. */
export async function handler(event: {
  methodArn: string;
  queryStringParameters?: Record<string, string>;
}): Promise<unknown> {
  const name = event.queryStringParameters?.name;
  return {
    principalId: name ?? 'anonymous',
    policyDocument: {
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'execute-api:Invoke',
          Effect: name && name !== 'mallory' ? 'Allow' : 'Deny',
          Resource: event.methodArn,
        },
      ],
    },
    context: { name: name ?? '' },
  };
}
