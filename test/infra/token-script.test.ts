import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FULL_ACCESS } from '../../functions/lib/capabilities.js';
import { verifyToken } from '../../functions/lib/token.js';
import { mint, program, readLocalSecret, TokenScriptError } from '../../scripts/token.js';

const TOKEN_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:Postbox-TokenSecret-a1B2c3';
const OTHER_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:Other-z9Y8x7';

describe('npm run token', () => {
  let dir: string;
  const write = (name: string, content: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'postbox-token-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tells the user to start the local runtime when there is no secrets file', () => {
    const missing = join(dir, 'missing', 'secrets.json');
    expect(() => readLocalSecret(missing)).toThrow(TokenScriptError);
    expect(() => readLocalSecret(missing)).toThrow(/run `npm start` first/);
    expect(() => readLocalSecret(write('empty.json', {}))).toThrow(/run `npm start` first/);
  });

  it('uses the only secret there is', () => {
    expect(readLocalSecret(write('one.json', { [OTHER_ARN]: 'k1' }))).toBe('k1');
  });

  it('prefers the stack’s TokenSecret among several, or the one named with --secret', () => {
    const file = write('two.json', { [OTHER_ARN]: 'k1', [TOKEN_ARN]: 'k2' });
    expect(readLocalSecret(file)).toBe('k2');
    expect(readLocalSecret(file, 'Other')).toBe('k1');
    expect(readLocalSecret(file, OTHER_ARN)).toBe('k1');
    expect(() => readLocalSecret(file, 'Nope')).toThrow(/none is "Nope"/);
  });

  it('refuses to guess between several unrelated secrets', () => {
    const file = write('ambiguous.json', { [OTHER_ARN]: 'k1', 'arn:…:secret:Third-q1W2e3': 'k3' });
    expect(() => readLocalSecret(file)).toThrow(/holds 2 secrets and choose one with --secret/);
  });

  it('mints a token the authorizer’s verifier accepts, for the given client and lifetime', async () => {
    const token = await mint('local-key', 'alice', '2m');
    await expect(verifyToken('local-key', token)).resolves.toEqual({ ok: true, clientId: 'alice', caps: FULL_ACCESS });
    await expect(verifyToken('other-key', token)).resolves.toMatchObject({ ok: false });
    const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as {
      iat: number;
      exp: number;
    };
    expect(claims.exp - claims.iat).toBe(120);
  });

  it('explains a bad --ttl or an empty clientId in one sentence', async () => {
    await expect(mint('k', 'alice', 'soon')).rejects.toThrow(/--ttl "soon" is not a time span/);
    await expect(mint('k', '  ', '1h')).rejects.toThrow(/clientId must not be empty/);
  });

  it('prints only the token with --local', async () => {
    write('secrets.json', { [TOKEN_ARN]: 'cli-key' });
    const lines: string[] = [];
    await program((line) => lines.push(line)).parseAsync(['bob', '--local', '--data-dir', dir, '--ttl', '5m'], {
      from: 'user',
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    await expect(verifyToken('cli-key', lines[0])).resolves.toEqual({ ok: true, clientId: 'bob', caps: FULL_ACCESS });
  });

  it('puts each --allow in the caps claim, and explains a bad one', async () => {
    write('secrets.json', { [TOKEN_ARN]: 'cli-key' });
    const lines: string[] = [];
    await program((line) => lines.push(line)).parseAsync(
      ['carol', '--local', '--data-dir', dir, '--allow', 'subscribe:news/*', '--allow', 'publish,send:news/sport'],
      { from: 'user' },
    );
    await expect(verifyToken('cli-key', lines[0])).resolves.toEqual({
      ok: true,
      clientId: 'carol',
      caps: { 'news/*': ['subscribe'], 'news/sport': ['publish', 'send'] },
    });
    await expect(mint('k', 'carol', '1h', ['read:news'])).rejects.toThrow(
      /--allow "read:news" is not operation:pattern with operation one of subscribe, publish, send, enqueue, consume/,
    );
  });
});
