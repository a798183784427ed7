import type { TallySnapshot } from './tally.js';

/** us-east-1 list prices (docs: /work/shared/reference/aws-semantics.md §7), in USD. */
export const PRICES = {
  /** API Gateway WebSocket messages in and out, per 32 KB unit (first billion per month). */
  apiGatewayMessage: 1.0 / 1e6,
  /** SQS standard, per request per 64 KB chunk. */
  sqsRequest: 0.4 / 1e6,
  /** SQS FIFO, per request per 64 KB chunk. */
  sqsFifoRequest: 0.5 / 1e6,
  lambdaRequest: 0.2 / 1e6,
  /** Lambda arm64 duration per GB-second. */
  lambdaGbSecond: 0.0000133334,
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
} as const;

/** One row of the bill: how many of something each delivered message costs, and its price per million deliveries. */
export interface CostLine {
  kind: string;
  perDelivered: number;
  usdPerMillion: number;
  /** Counted as an AWS request in the requests-per-delivered-message total. */
  request: boolean;
}

export interface CostReport {
  lines: CostLine[];
  requestsPerDelivered: number;
  usdPerMillion: number;
}

/**
 * Prices a measured window per million delivered messages. Assumptions, stated in the printout too: connection
 * minutes are left out (a few long-lived sockets cost next to nothing per message); Lambda duration uses the local
 * worker's wall time as a proxy for Lambda's billed duration, with each function's MemorySize from the template;
 * DynamoDB units are CapacityEstimator's estimate. "AWS requests" are Lambda invocations, SQS and DynamoDB requests
 * and `@connections` posts; API Gateway messages are priced but not counted as requests.
 */
export function costOf(
  tally: TallySnapshot,
  delivered: number,
  messagesIn: number,
  memoryMb: ReadonlyMap<string, number>,
): CostReport {
  const per = (n: number) => (delivered > 0 ? n / delivered : Number.NaN);
  const million = (usd: number) => per(usd) * 1e6;
  const lines: CostLine[] = [];
  for (const [name, fn] of Object.entries(tally.lambda).sort()) {
    const gbSeconds = (fn.billedMs / 1000) * ((memoryMb.get(name) ?? 128) / 1024);
    const usd = fn.invocations * PRICES.lambdaRequest + gbSeconds * PRICES.lambdaGbSecond;
    lines.push({
      kind: `Lambda ${name}`,
      perDelivered: per(fn.invocations),
      usdPerMillion: million(usd),
      request: true,
    });
  }
  for (const [op, sqs] of Object.entries(tally.sqs).sort()) {
    lines.push({
      kind: `SQS ${op}`,
      perDelivered: per(sqs.requests),
      usdPerMillion: million(
        (sqs.chunks - (sqs.fifoChunks ?? 0)) * PRICES.sqsRequest + (sqs.fifoChunks ?? 0) * PRICES.sqsFifoRequest,
      ),
      request: true,
    });
  }
  for (const [op, count] of Object.entries(tally.dynamodb).sort()) {
    lines.push({ kind: `DynamoDB ${op}`, perDelivered: per(count), usdPerMillion: 0, request: true });
  }
  lines.push(
    {
      kind: 'DynamoDB write units (est.)',
      perDelivered: per(tally.writeUnits),
      usdPerMillion: million(tally.writeUnits * PRICES.dynamoWriteUnit),
      request: false,
    },
    {
      kind: 'DynamoDB read units (est.)',
      perDelivered: per(tally.readUnits),
      usdPerMillion: million(tally.readUnits * PRICES.dynamoReadUnit),
      request: false,
    },
    {
      kind: '@connections posts',
      perDelivered: per(tally.connectionPosts),
      usdPerMillion: 0,
      request: true,
    },
    {
      kind: 'API GW messages in (32 KB)',
      perDelivered: per(messagesIn),
      usdPerMillion: million(messagesIn * PRICES.apiGatewayMessage),
      request: false,
    },
    {
      kind: 'API GW messages out (32 KB)',
      perDelivered: per(tally.messagesOut),
      usdPerMillion: million(tally.messagesOut * PRICES.apiGatewayMessage),
      request: false,
    },
  );
  return {
    lines,
    requestsPerDelivered: lines.filter((l) => l.request).reduce((n, l) => n + l.perDelivered, 0),
    usdPerMillion: lines.reduce((n, l) => n + l.usdPerMillion, 0),
  };
}
