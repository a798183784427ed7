import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESM_REQUIRE_BANNER, HandlerFunction } from '../../infra/constructs/handler-function.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('HandlerFunction bundling (real esbuild, no Docker)', () => {
  // Inside the project so that the bundle's external imports resolve from its node_modules when loaded.
  const outdir = join(PROJECT_ROOT, 'node_modules', '.cache', 'postbox-infra-test', String(process.pid));
  let metadata: Record<string, unknown>;
  let handlerProps: Record<string, unknown>;
  let bundleDir: string;

  beforeAll(() => {
    mkdirSync(outdir, { recursive: true });
    // What the CLI passes: asset metadata on, so the template says where each bundle is (local runtime contract).
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'Bundled');
    new HandlerFunction(stack, 'Fixture', {
      entry: join(PROJECT_ROOT, 'test/infra/fixtures/esm-handler.ts'),
      projectRoot: PROJECT_ROOT,
    });
    const assembly = app.synth();
    const template = assembly.getStackByName('Bundled').template as {
      Resources: Record<
        string,
        { Type: string; Metadata: Record<string, unknown>; Properties: Record<string, unknown> }
      >;
    };
    const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
    if (!fn) throw new Error('no function synthesized');
    metadata = fn.Metadata;
    handlerProps = fn.Properties;
    bundleDir = join(outdir, String(metadata['aws:asset:path']));
  });

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('records where the bundle is, as the local runtime expects', () => {
    expect(metadata).toMatchObject({
      'aws:asset:path': expect.stringMatching(/^asset\.[0-9a-f]{64}$/),
      'aws:asset:is-bundled': true,
      'aws:asset:property': 'Code',
    });
    expect(handlerProps.Handler).toBe('index.handler');
  });

  it('emits minified ESM with a source map, starting with the createRequire banner', () => {
    const code = readFileSync(join(bundleDir, 'index.mjs'), 'utf8');
    expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    expect(code).toMatch(/export\s*\{/);
    expect(code).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
    expect(existsSync(join(bundleDir, 'index.mjs.map'))).toBe(true);
    expect(existsSync(join(bundleDir, 'index.js'))).toBe(false);
  });

  it('leaves the AWS SDK to the runtime but bundles other dependencies', () => {
    const code = readFileSync(join(bundleDir, 'index.mjs'), 'utf8');
    expect(code).toMatch(/from\s*"@aws-sdk\/client-sqs"/);
    expect(code).not.toContain('node_modules/@aws-sdk');
    expect(code).not.toMatch(/from\s*"ws"/);
  });

  it('runs as ESM even though a bundled CommonJS dependency calls require', async () => {
    const mod = (await import(pathToFileURL(join(bundleDir, 'index.mjs')).href)) as {
      handler: () => Promise<{ sdk: string; ws: number }>;
    };
    await expect(mod.handler()).resolves.toEqual({ sdk: 'function', ws: 1 });
  });
});
