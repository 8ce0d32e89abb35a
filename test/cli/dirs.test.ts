import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeDirs } from '../../cli/dirs.js';
import { podspan } from '../helpers/run.js';

// Output directories the user names are made one level at a time: Node 20's recursive
// mkdirSync never returns for a path under /proc (the parent exists, the child is ENOENT).

const dir = mkdtempSync(join(tmpdir(), 'podspan-dirs-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const aFile = join(dir, 'a-file');
writeFileSync(aFile, 'x');

t.test('makeDirs: creates every missing level, accepts an existing directory', async (t) => {
  const deep = join(dir, 'a', 'b', 'c');
  makeDirs(deep, '-o');
  t.ok(statSync(deep).isDirectory());
  makeDirs(deep, '-o');
  makeDirs(dir + '/./a/../a/b', '-o');
  t.ok(statSync(join(dir, 'a', 'b')).isDirectory());
});

t.test('makeDirs: the path as the caller will open it, through a symlink before ".."', async (t) => {
  mkdirSync(join(dir, 'deep', 'inner'), { recursive: true });
  symlinkSync(join(dir, 'deep', 'inner'), join(dir, 'lnk'));
  // The kernel resolves lnk/.. to deep, not to dir: so must makeDirs.
  makeDirs(join(dir, 'lnk') + '/../made', '-o');
  t.ok(statSync(join(dir, 'deep', 'made')).isDirectory(), 'made under the link target');
  t.notOk(existsSync(join(dir, 'made')), 'no stray directory where the text alone points');
  makeDirs(join(dir, 'deep') + '/trailing/', '-o');
  t.ok(statSync(join(dir, 'deep', 'trailing')).isDirectory(), 'a trailing slash');
});

t.test('makeDirs: PODSPAN_ERR_IO naming the flag and the path, never a hang', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['/proc/podspan-never', /-o \/proc\/podspan-never: cannot create directory \/proc\/podspan-never: ENOENT/],
    ['/proc/podspan-never/deeper', /cannot create directory \/proc\/podspan-never: ENOENT/],
    [aFile, /a-file exists and is not a directory/],
    [join(aFile, 'sub'), /a-file exists and is not a directory/],
  ];
  for (const [path, message] of cases) t.throws(() => makeDirs(path, '-o'), { code: 'PODSPAN_ERR_IO', message }, path);
});

t.test('streams -o and collector --out under /proc exit 1 with the path, promptly', async (t) => {
  const empty = join(dir, 'empty.pcap');
  writeFileSync(empty, Buffer.from('4d3cb2a1020004000000000000000000ffff000001000000', 'hex'));
  const s = await podspan(['streams', empty, '-o', '/proc/podspan-never'], { timeoutMs: 20_000 });
  t.equal(s.code, 1, s.stderr);
  t.match(s.stderr, /-o \/proc\/podspan-never: cannot create directory/);
  const c = await podspan(['collector', '--vxlan', '127.0.0.1:0', '--out', '/proc/podspan-never', '--duration', '1'], { timeoutMs: 20_000 });
  t.equal(c.code, 1, c.stderr);
  t.match(c.stderr, /collector: --out \/proc\/podspan-never: cannot create directory/);
});
