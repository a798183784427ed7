import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type LocalStack, startLocal } from '../../local/index.js';
import { loadModels, UnsupportedResourceError } from '../../local/template/index.js';
import { buildChatApp } from './chat-app/app.js';

/** A chat app written as AWS's samples are, in two stacks, synthesized for real and run unchanged. */
const cdkOut = mkdtempSync(join(tmpdir(), 'postbox-chat-'));

beforeAll(() => {
  buildChatApp(cdkOut).synth();
});
afterAll(() => rmSync(cdkOut, { recursive: true, force: true }));

describe('loading a two-stack app', () => {
  it('loads every stack of the assembly, the exporting stack first', () => {
    const models = loadModels(cdkOut);
    expect(models.map((m) => m.stackName)).toEqual(['ChatData', 'ChatApi']);
    expect(models[1]?.imports.get([...(models[1]?.imports.keys() ?? [])][0] ?? '')?.model.stackName).toBe('ChatData');
  });

  it('refuses, while loading, an import that no stack it runs exports, naming the importing resource', async () => {
    const started = startLocal({ port: 0, cdkOut, inMemory: true, stack: 'ChatApi', logSink: () => {} });
    // Should it start after all, it is stopped again; the assertions below then fail.
    started.then((local) => local.stop()).catch(() => {});
    await expect(started).rejects.toThrow(UnsupportedResourceError);
    await expect(started).rejects.toThrow(
      /^ChatApi\/OnConnect\/Resource \(AWS::Lambda::Function, property Environment\): Fn::ImportValue ChatData:ExportsOutputRef\w+: no stack of those loaded \(ChatApi\) exports it/,
    );
  });
});

describe('the chat app on the local runtime', () => {
  let local: LocalStack;

  beforeAll(async () => {
    local = await startLocal({ port: 0, cdkOut, inMemory: true, logSink: () => {} });
  });
  afterAll(async () => {
    await local?.stop();
  });

  /** A client that queues every frame it receives, so none is missed between two awaits. */
  const client = async () => {
    const ws = new WebSocket(`${local.url}/prod`);
    const frames: string[] = [];
    const waiters: ((frame: string) => void)[] = [];
    ws.on('message', (data) => {
      const waiter = waiters.shift();
      if (waiter) waiter(String(data));
      else frames.push(String(data));
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const next = () => {
      const frame = frames.shift();
      return frame !== undefined ? Promise.resolve(frame) : new Promise<string>((resolve) => waiters.push(resolve));
    };
    return { ws, next };
  };

  it('lets two clients chat: sendmessage scans the connections and posts to each over requestContext.domainName', async () => {
    const alice = await client();
    const bob = await client();
    alice.ws.send(JSON.stringify({ action: 'sendmessage', data: 'hello from alice' }));
    expect(await bob.next()).toBe('hello from alice');
    expect(await alice.next()).toBe('hello from alice');
    bob.ws.send(JSON.stringify({ action: 'sendmessage', data: 'hi alice' }));
    expect(await alice.next()).toBe('hi alice');
    expect(await bob.next()).toBe('hi alice');
    alice.ws.close();
    bob.ws.close();
  });

  it('reaches the gateway through an endpoint built from the API id and the region', async () => {
    const carol = await client();
    carol.ws.send(JSON.stringify({ action: 'whoami' }));
    const frame = JSON.parse(await carol.next()) as { connectionId: string };
    // Exactly the posted frame: a failed post would bring the gateway's error frame, which names the connection too.
    expect(Object.keys(frame)).toEqual(['connectionId']);
    expect(local.spy.events({ kind: 'connect' })).toContainEqual(expect.objectContaining(frame));
    carol.ws.close();
  });

  it("fails a function's request to an AWS service with no local counterpart at once, naming the host", async () => {
    const dave = await client();
    dave.ws.send(JSON.stringify({ action: 'stackinfo' }));
    expect(JSON.parse(await dave.next())).toEqual({
      name: 'LocalEndpointError',
      message: expect.stringMatching(/^cloudformation\.us-east-1\.amazonaws\.com: no local "cloudformation" service/),
    });
    dave.ws.close();
  });
});
