import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Postbox, startPostbox } from '../helpers/local.js';

let postbox: Postbox;
beforeAll(async () => {
  postbox = await startPostbox();
});
afterAll(() => postbox?.stop());

/** Runs the real wscat CLI (the README's instructions) with commands to send, and returns what it printed. */
function wscat(url: string, commands: string[], waitSeconds: number): Promise<{ code: number | null; output: string }> {
  const bin = join(process.cwd(), 'node_modules', '.bin', 'wscat');
  const args = ['--no-color', '-c', url, ...commands.flatMap((c) => ['-x', c]), '-w', String(waitSeconds)];
  return new Promise((resolve, reject) => {
    // stdin stays open: wscat quits as soon as its input ends, as it does when a user presses Ctrl-D.
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('wscat', () => {
  it('subscribes, publishes and receives the message, as the README shows', async () => {
    const url = await postbox.urlFor('wscat-user');
    const { output } = await wscat(
      url,
      [
        JSON.stringify({ action: 'subscribe', topic: 'demo' }),
        JSON.stringify({ action: 'publish', topic: 'demo', payload: { hello: 'world' } }),
      ],
      4,
    );
    const frames = output
      .split('\n')
      .filter((line) => line.trim().startsWith('{'))
      .map((line) => JSON.parse(line.trim()) as Record<string, unknown>);
    expect(frames).toContainEqual({ type: 'subscribed', topic: 'demo' });
    const accepted = frames.find((f) => f.type === 'accepted');
    expect(frames).toContainEqual(
      expect.objectContaining({ type: 'message', id: accepted?.id, from: 'wscat-user', payload: { hello: 'world' } }),
    );
  });

  it('is refused at the handshake without a token', async () => {
    const { output } = await wscat(postbox.local.url, [], 1);
    expect(output).toContain('Unexpected server response: 401');
  });
});
