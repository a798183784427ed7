import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';

// `npm start` as a user runs it (a child process on a data folder), killed with SIGKILL while messages it answered
// `accepted` for still wait in its embedded SQS, then started again on the same folder.
const root = resolve(import.meta.dirname, '../..');
const dataDir = mkdtempSync(join(tmpdir(), 'postbox-kill-'));
const children: ChildProcess[] = [];
/** tsx runs the CLI in a child process of its own: a signal goes to the whole group, as a terminal's does. */
const signal = (child: ChildProcess, name: NodeJS.Signals) => {
  try {
    process.kill(-(child.pid as number), name);
  } catch {
    // already gone
  }
};
afterAll(() => {
  for (const child of children) signal(child, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  /** The demo clients' wscat URLs, by client id. */
  urls: Map<string, string>;
}

/** Starts the CLI on the data folder; resolves once it printed its demo clients, or with its exit if it failed. */
function start(): Promise<Started | { code: number | null; stderr: string }> {
  const child = spawn(
    join(root, 'node_modules/.bin/tsx'),
    ['local/cli.ts', '--no-synth', '--port', '0', '--data-dir', dataDir],
    { cwd: root, env: { ...process.env, PORT: undefined, POSTBOX_BACKEND: undefined }, detached: true },
  );
  children.push(child);
  let stdout = '';
  let stderr = '';
  return new Promise((done) => {
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
      const urls = new Map([...stdout.matchAll(/^ {2}(\w+) +npx wscat -c "([^"]+)"$/gm)].map((m) => [m[1], m[2]]));
      if (urls.has('alice') && urls.has('bob')) done({ child, urls: urls as Map<string, string> });
    });
    child.on('exit', (code) => done({ code, stderr }));
  });
}

async function started(): Promise<Started> {
  const result = await start();
  if (!('child' in result)) throw new Error(`npm start exited with ${result.code}: ${result.stderr}`);
  return result;
}

describe('npm start on a data folder', () => {
  it('keeps every accepted message through a SIGKILL: after a restart the subscriber gets them all', {
    // Messages a deliver batch held when the process died come back after the ingest queue's visibility timeout
    // (180 s), as on AWS.
    timeout: 300_000,
  }, async () => {
    const first = await started();
    const bob = await TestClient.connect(first.urls.get('bob') as string);
    expect(await bob.request({ action: 'subscribe', topic: 'kill-topic' })).toMatchObject({ type: 'subscribed' });
    await bob.close();

    // A second runtime on the same folder is refused in one sentence while the first runs.
    const second = await start();
    expect(second).toMatchObject({ code: 1 });
    expect('stderr' in second && second.stderr.trim()).toMatch(
      /^Another npm start \(pid \d+\) is using .+: stop it first, or give this one its own folder with --data-dir \(or --in-memory\)\.$/,
    );

    const alice = await TestClient.connect(first.urls.get('alice') as string);
    // 300 messages in flight at once, as 30 frames of 10: 300 frames at once would pass the frame limit (200).
    const count = 300;
    for (let f = 0; f < count / 10; f++) {
      const messages = Array.from({ length: 10 }, (_, j) => ({ payload: { i: f * 10 + j } }));
      alice.send({ action: 'publish', topic: 'kill-topic', messages, ref: `p${f}` });
    }
    const accepted: string[] = [];
    while (accepted.length < count) {
      const reply = await alice.nextMatching((f) => typeof f.ref === 'string' && f.ref.startsWith('p'), 60_000);
      expect(reply.type).toBe('accepted');
      accepted.push(...(reply.ids as string[]).map(String));
    }
    signal(first.child, 'SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));

    const again = await started();
    const reader = await TestClient.connect(again.urls.get('bob') as string);
    const seen = new Set<string>();
    const deadline = Date.now() + 240_000;
    while (seen.size < count && Date.now() < deadline) {
      for (const message of reader.messages()) seen.add(String(message.id));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(accepted.filter((id) => !seen.has(id))).toEqual([]);
    signal(again.child, 'SIGINT');
    await new Promise((resolve) => again.child.once('exit', resolve));
  });
});
