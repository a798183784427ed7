import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Postbox, startPostbox } from '../helpers/local.js';

// LocalStack needs Docker, which CI machines here do not have: this suite runs where LOCALSTACK_ENDPOINT is set
// (`docker compose up -d`, then `LOCALSTACK_ENDPOINT=http://localhost:4566 npm test`).
const endpoint = process.env.LOCALSTACK_ENDPOINT;

describe.runIf(endpoint)('with --backend localstack', () => {
  let postbox: Postbox;
  beforeAll(async () => {
    postbox = await startPostbox({ backend: 'localstack', localstackEndpoint: endpoint });
  });
  afterAll(() => postbox?.stop());

  it('creates the stack in LocalStack and delivers through its SQS and DynamoDB', async () => {
    const subscriber = await postbox.connect(`ls-sub-${Date.now()}`);
    expect(await subscriber.request({ action: 'subscribe', topic: 'ls' })).toMatchObject({ type: 'subscribed' });
    const publisher = await postbox.connect('ls-pub');
    const { id } = await publisher.request({ action: 'publish', topic: 'ls', payload: { via: 'localstack' } });
    expect(await subscriber.nextMatching((f) => f.type === 'message', 20_000)).toMatchObject({
      id,
      payload: { via: 'localstack' },
    });
  });
});
