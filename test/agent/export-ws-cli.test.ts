import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { podspan } from '../helpers/run.js';

// The WebSocket flags of `podspan agent` and `podspan collector`: each mistake is a usage
// error (exit 2) that says what to do, before anything is opened.

const dir = mkdtempSync(join(tmpdir(), 'podspan-ws-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const token = join(dir, 'token');
writeFileSync(token, 'abc\n');
const empty = join(dir, 'empty');
writeFileSync(empty, '\n');
const notPem = join(dir, 'not.pem');
writeFileSync(notPem, 'hello\n');

const cases: Array<[string, string[], RegExp]> = [
  ['agent: --spool-size not a size', ['agent', '--iface', 'lo', '--to', 'ws://127.0.0.1:1', '--spool-size', 'lots'], /--spool-size wants a size/],
  ['agent: --ca with ws://', ['agent', '--iface', 'lo', '--to', 'ws://127.0.0.1:1', '--ca', notPem], /--ca applies to --to wss:/],
  ['agent: --ca not PEM', ['agent', '--iface', 'lo', '--to', 'wss://127.0.0.1:1', '--ca', notPem], /is not a PEM certificate/],
  ['agent: --token-file missing', ['agent', '--iface', 'lo', '--to', 'ws://127.0.0.1:1', '--token-file', join(dir, 'nope')], /--token-file .*nope: ENOENT/],
  ['agent: --token-file empty', ['agent', '--iface', 'lo', '--to', 'ws://127.0.0.1:1', '--token-file', empty], /must hold one token/],
  ['agent: --token-file without a ws target', ['agent', '--iface', 'lo', '--to', 'vxlan://127.0.0.1?vni=1', '--token-file', token], /applies to --to ws:/],
  ['agent: --spool-dir for two ws targets', ['agent', '--iface', 'lo', '--to', 'ws://127.0.0.1:1', '--to', 'ws://127.0.0.1:2', '--spool-dir', dir], /--spool-dir serves one ws/],
  ['agent: --spool-dir not a directory', ['agent', '--iface', 'lo', '--to', 'ws://127.0.0.1:1', '--spool-dir', token], /--spool-dir .*token: /],
  ['agent: credentials in the URL', ['agent', '--iface', 'lo', '--to', 'ws://u:p@127.0.0.1:1'], /no user or password in the URL/],
  ['collector: --ws without a port', ['collector', '--ws', '127.0.0.1', '--token-file', token, '--out', dir], /--ws 127\.0\.0\.1: expected HOST:PORT/],
  ['collector: --ws without a token', ['collector', '--ws', '127.0.0.1:0', '--out', dir], /--ws needs --token-file FILE/],
  ['collector: --tls-cert without --tls-key', ['collector', '--ws', '127.0.0.1:0', '--token-file', token, '--tls-cert', notPem, '--out', dir], /needs both --tls-cert FILE and --tls-key FILE/],
  ['collector: --tls-cert not PEM', ['collector', '--ws', '127.0.0.1:0', '--token-file', token, '--tls-cert', notPem, '--tls-key', notPem, '--out', dir], /not a PEM certificate and its private key/],
  ['collector: --token-file without --ws', ['collector', '--vxlan', '127.0.0.1:0', '--token-file', token, '--out', dir], /applies to the WebSocket listener/],
  ['collector: --token-file and --insecure-no-token', ['collector', '--ws', '127.0.0.1:0', '--token-file', token, '--insecure-no-token', '--out', dir], /contradict/],
];

for (const [name, args, re] of cases) {
  t.test(name, async (t) => {
    const r = await podspan(args, { timeoutMs: 20_000 });
    t.equal(r.code, 2, 'exit 2');
    t.match(r.stderr, re);
  });
}

t.test('agent: nobody listening at start is a runtime error (exit 1)', async (t) => {
  const r = await podspan(['agent', '--iface', 'lo', '--to', 'ws://127.0.0.1:1', '--token-file', token]);
  t.equal(r.code, 1);
  t.match(r.stderr, /cannot connect to ws:\/\/127\.0\.0\.1:1/);
});
