import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { REPO_ROOT } from './helpers/repo.js';

// The module map of ARCHITECTURE.md, checked on the sources (not on the build).
const TOP = ['packet', 'proto', 'native', 'agent', 'collector', 'cli', 'lab'];

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (e.endsWith('.ts') && !e.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Module specifiers of static imports, re-exports and dynamic imports. */
export function importsOf(source: string): string[] {
  const specs: string[] = [];
  const re = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (let m = re.exec(source); m !== null; m = re.exec(source)) specs.push((m[1] ?? m[2] ?? m[3])!);
  return specs;
}

function topOf(file: string): string {
  return relative(REPO_ROOT, file).split(sep)[0]!;
}

function resolvedTop(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return topOf(resolve(dirname(file), spec));
}

t.test('the import scanner sees static, re-export, side-effect and dynamic imports', async (t) => {
  const src = `import { a } from './a.js';\nimport type { B } from "../b.js";\nexport * from './c.js';\nimport 'node:fs';\nconst x = await import('../collector/x.js');`;
  t.same(importsOf(src), ['./a.js', '../b.js', './c.js', 'node:fs', '../collector/x.js']);
});

t.test('packet/ imports only node:buffer and its own files', async (t) => {
  const files = tsFiles(join(REPO_ROOT, 'packet'));
  t.ok(files.length > 0, 'packet/ has sources');
  const bad: string[] = [];
  for (const f of files) {
    for (const spec of importsOf(readFileSync(f, 'utf8'))) {
      const top = resolvedTop(f, spec);
      if (spec === 'node:buffer' || top === 'packet') continue;
      bad.push(`${relative(REPO_ROOT, f)} imports ${spec}`);
    }
  }
  t.same(bad, []);
});

t.test('agent/ and collector/ never import each other', async (t) => {
  const bad: string[] = [];
  for (const [from, forbidden] of [['agent', 'collector'], ['collector', 'agent']] as const) {
    for (const f of tsFiles(join(REPO_ROOT, from))) {
      for (const spec of importsOf(readFileSync(f, 'utf8'))) {
        if (resolvedTop(f, spec) === forbidden) bad.push(`${relative(REPO_ROOT, f)} imports ${spec}`);
      }
    }
  }
  t.same(bad, []);
});

t.test('lower layers never import upper ones (packet < proto < native < agent/collector < cli)', async (t) => {
  const allowed: Record<string, string[]> = {
    packet: ['packet'],
    proto: ['proto', 'packet'],
    native: ['native', 'packet'],
    lab: ['lab', 'packet'],
    agent: ['agent', 'packet', 'proto', 'native'],
    collector: ['collector', 'packet', 'proto', 'native'],
    cli: TOP,
  };
  const bad: string[] = [];
  for (const top of TOP) {
    for (const f of tsFiles(join(REPO_ROOT, top))) {
      for (const spec of importsOf(readFileSync(f, 'utf8'))) {
        const target = resolvedTop(f, spec);
        if (target !== undefined && TOP.includes(target) && !allowed[top]!.includes(target)) {
          bad.push(`${relative(REPO_ROOT, f)} imports ${spec}`);
        }
      }
    }
  }
  t.same(bad, []);
});

t.test('only native/index.ts loads the compiled addon', async (t) => {
  const bad: string[] = [];
  for (const top of TOP) {
    for (const f of tsFiles(join(REPO_ROOT, top))) {
      const rel = relative(REPO_ROOT, f);
      if (rel === join('native', 'index.ts')) continue;
      if (/\.node['"]|createRequire\(/.test(readFileSync(f, 'utf8'))) bad.push(rel);
    }
  }
  t.same(bad, []);
});
