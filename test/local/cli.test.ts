import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needsSynth } from '../../local/template/synth.js';
import { buildChatApp } from './chat-app/app.js';
import { buildFixtureApp } from './fixture-app/app.js';

const root = resolve(import.meta.dirname, '../..');
const cdkOut = mkdtempSync(join(tmpdir(), 'postbox-cli-'));

/** Runs the CLI on the fixture assembly (no synthesis); resolves with its exit code and output once it exits. */
function cli(args: string[], onStdout?: (text: string, child: ChildProcess) => void, synth = false, dataDir?: string) {
  const keep = dataDir ? ['--data-dir', dataDir] : ['--in-memory'];
  const flags = synth ? keep : ['--no-synth', ...keep];
  const child = spawn(join(root, 'node_modules/.bin/tsx'), ['local/cli.ts', ...flags, ...args], {
    cwd: root,
    env: { ...process.env, PORT: undefined, POSTBOX_BACKEND: undefined },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    onStdout?.(stdout, child);
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) =>
    child.on('exit', (code) => done({ code, stdout, stderr })),
  );
}

describe('npm start (local/cli.ts)', () => {
  let busy: Server;
  beforeAll(async () => {
    buildFixtureApp(cdkOut).synth();
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  });
  afterAll(() => {
    busy.close();
    rmSync(cdkOut, { recursive: true, force: true });
  });

  it('prints one ready line and stops cleanly on SIGINT', async () => {
    const result = await cli(['--port', '0', '--cdk-out', cdkOut], (text, child) => {
      if (text.includes('ready at')) child.kill('SIGINT');
    });
    const ready = result.stdout.split('\n').filter((l) => l.includes('ready at'));
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatch(
      /^Postbox local stack ready at ws:\/\/127\.0\.0\.1:\d+ \(SQS http:\/\/127\.0\.0\.1:\d+, DynamoDB http:\/\/127\.0\.0\.1:\d+\)$/,
    );
    expect(result.code).toBe(0);
  });

  it('stops cleanly on Ctrl-C on a data folder: lets go of it, so the next npm start on it starts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'postbox-cli-data-'));
    const held: boolean[] = [];
    try {
      for (let run = 0; run < 2; run++) {
        const result = await cli(
          ['--port', '0', '--cdk-out', cdkOut],
          (text, child) => {
            if (!text.includes('ready at') || held.length > run) return;
            held.push(existsSync(join(dataDir, 'runtime.pid')) && existsSync(join(dataDir, 'runtime.json')));
            child.kill('SIGINT');
          },
          false,
          dataDir,
        );
        expect(result).toMatchObject({ code: 0, stderr: '' });
        expect([existsSync(join(dataDir, 'runtime.pid')), existsSync(join(dataDir, 'runtime.json'))]).toEqual([
          false,
          false,
        ]);
      }
      expect(held).toEqual([true, true]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('explains a taken port in one sentence and exits with 1', async () => {
    const { port } = busy.address() as { port: number };
    const result = await cli(['--port', String(port), '--cdk-out', cdkOut]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `Port ${port} is already in use: stop the program using it, or start on another port with --port (or PORT).`,
    );
  });

  it('names an unsupported resource and exits with 1, without a stack trace', async () => {
    const other = mkdtempSync(join(tmpdir(), 'postbox-cli-bad-'));
    const manifest = JSON.parse(readFileSync(join(cdkOut, 'manifest.json'), 'utf8'));
    const template = JSON.parse(readFileSync(join(cdkOut, 'FixtureStack.template.json'), 'utf8'));
    template.Resources.Topic = {
      Type: 'AWS::SNS::Topic',
      Metadata: { 'aws:cdk:path': 'FixtureStack/Alerts/Resource' },
    };
    writeFileSync(join(other, 'manifest.json'), JSON.stringify(manifest));
    writeFileSync(join(other, 'FixtureStack.template.json'), JSON.stringify(template));
    const result = await cli(['--port', '0', '--cdk-out', other]);
    rmSync(other, { recursive: true, force: true });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      'The stack uses something the local runtime cannot run (FixtureStack/Alerts/Resource (AWS::SNS::Topic): this resource type is not supported locally): remove it from the stack, or run the stack on AWS.',
    );
  });

  it("runs another app's assembly given with --cdk-out as it is, never synthesizing Postbox into it", async () => {
    // Older than infra/: Postbox's own cdk.out would be synthesized again.
    const past = new Date(Date.now() - 24 * 3600_000);
    utimesSync(join(cdkOut, 'manifest.json'), past, past);
    const result = await cli(
      ['--port', '0', '--cdk-out', cdkOut],
      (text, child) => {
        if (text.includes('ready at')) child.kill('SIGINT');
      },
      true,
    );
    expect(result.stdout).not.toContain('Synthesizing');
    expect(result.code).toBe(0);
    expect(Object.keys(JSON.parse(readFileSync(join(cdkOut, 'manifest.json'), 'utf8')).artifacts)).toContain(
      'FixtureStack',
    );
    expect(existsSync(join(cdkOut, 'Postbox.template.json'))).toBe(false);
  });
});

describe('when to synthesize', () => {
  it('synthesizes when cdk.out is missing or older than infra/, functions/, cdk.json or package-lock.json', () => {
    const project = mkdtempSync(join(tmpdir(), 'postbox-synth-'));
    const out = join(project, 'cdk.out');
    mkdirSync(join(project, 'functions', 'lib'), { recursive: true });
    writeFileSync(join(project, 'functions', 'lib', 'a.ts'), '');
    expect(needsSynth(project, out)).toBe(true);
    mkdirSync(out);
    writeFileSync(join(out, 'manifest.json'), '{}');
    const past = new Date(Date.now() - 60_000);
    for (const p of [
      join(project, 'functions', 'lib', 'a.ts'),
      join(project, 'functions', 'lib'),
      join(project, 'functions'),
    ]) {
      utimesSync(p, past, past);
    }
    expect(needsSynth(project, out)).toBe(false);
    writeFileSync(join(project, 'functions', 'lib', 'a.ts'), 'changed');
    expect(needsSynth(project, out)).toBe(true);
    rmSync(project, { recursive: true, force: true });
  });
});

describe('npm start --cdk-out on a two-stack app', () => {
  const chatOut = mkdtempSync(join(tmpdir(), 'postbox-cli-chat-'));
  beforeAll(() => {
    buildChatApp(chatOut).synth();
  });
  afterAll(() => rmSync(chatOut, { recursive: true, force: true }));

  it('runs the stacks named with --stack together', async () => {
    const result = await cli(['--port', '0', '--cdk-out', chatOut, '--stack', 'ChatData', 'ChatApi'], (text, child) => {
      if (text.includes('ready at')) child.kill('SIGINT');
    });
    expect(result.stdout).toMatch(/ready at ws:\/\/127\.0\.0\.1:\d+/);
    expect(result.code).toBe(0);
  });

  it('refuses at start-up, naming the function, a stack whose import no stack run exports', async () => {
    // Should it start after all, it is stopped, so the test fails on its exit code instead of hanging.
    const result = await cli(['--port', '0', '--cdk-out', chatOut, '--stack', 'ChatApi'], (text, child) => {
      if (text.includes('ready at')) child.kill('SIGINT');
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^The stack uses something the local runtime cannot run \(ChatApi\/On(Dis)?Connect\/Resource \(AWS::Lambda::Function, property Environment\): Fn::ImportValue ChatData:\w+: no stack of those loaded \(ChatApi\) exports it; run the exporting stack too\)/,
    );
  });
});
