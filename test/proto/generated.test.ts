import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { REPO_ROOT } from '../helpers/repo.js';

const execFileP = promisify(execFile);

// The committed proto/podspan.js and .d.ts are what `npm run proto` makes from
// proto/podspan.proto: regenerate into a temporary directory with the same command (read
// from package.json, output paths redirected) and compare byte for byte.

t.test('the committed generated code matches proto/podspan.proto', async (t) => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const script = pkg.scripts['proto'];
  t.ok(script, 'package.json has a "proto" script');
  if (script === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'podspan-proto-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const js = join(dir, 'podspan.js');
  const dts = join(dir, 'podspan.d.ts');
  const cmd = script.replaceAll('proto/podspan.js', js).replaceAll('proto/podspan.d.ts', dts);
  t.not(cmd, script, 'the output paths were redirected');
  await execFileP('sh', ['-c', cmd], { cwd: REPO_ROOT, env: { ...process.env, PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env['PATH'] ?? ''}` }, timeout: 120_000 });
  t.ok(readFileSync(js).equals(readFileSync(join(REPO_ROOT, 'proto', 'podspan.js'))), 'proto/podspan.js is up to date (run npm run proto)');
  t.ok(readFileSync(dts).equals(readFileSync(join(REPO_ROOT, 'proto', 'podspan.d.ts'))), 'proto/podspan.d.ts is up to date (run npm run proto)');
});
