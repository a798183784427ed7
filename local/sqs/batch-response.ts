/** What the event source mapping makes of a successful invocation's return value. */
export type BatchOutcome =
  | { kind: 'success' }
  | { kind: 'partial'; failed: Set<string> }
  | { kind: 'failure'; reason: string };

/**
 * Applies Lambda's partial batch response rules [SQS-ERR][LAMBDA-SQS-ARCH]. Without `ReportBatchItemFailures` on the
 * mapping the return value is ignored: a returned invocation is a success. With it:
 * - full success: a null/absent response, or a null/absent/empty `batchItemFailures` list (so a misspelled
 *   top-level key silently loses the failures, as on AWS);
 * - full failure: a response that is not an object, a list that is not a list, an entry with a null or empty
 *   `itemIdentifier`, an entry without that key, or an id that is not in the batch;
 * - otherwise only the listed messages are retried.
 */
export function interpretResponse(
  value: unknown,
  batchIds: ReadonlySet<string>,
  reportBatchItemFailures: boolean,
): BatchOutcome {
  if (!reportBatchItemFailures || value === null || value === undefined) return { kind: 'success' };
  if (typeof value !== 'object' || Array.isArray(value))
    return failure('the response is not a batch response object', value);
  const list = (value as { batchItemFailures?: unknown }).batchItemFailures;
  if (list === null || list === undefined) return { kind: 'success' };
  if (!Array.isArray(list)) return failure('batchItemFailures is not a list', value);
  if (list.length === 0) return { kind: 'success' };
  const failed = new Set<string>();
  for (const entry of list) {
    const id =
      entry !== null && typeof entry === 'object' ? (entry as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '') return failure('an entry has no itemIdentifier', value);
    if (!batchIds.has(id)) return failure(`itemIdentifier ${id} is not in the batch`, value);
    failed.add(id);
  }
  return { kind: 'partial', failed };
}

function failure(reason: string, value: unknown): BatchOutcome {
  return {
    kind: 'failure',
    reason: `invalid partial batch response (${reason}): ${JSON.stringify(value)?.slice(0, 200)}`,
  };
}
