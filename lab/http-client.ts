/**
 * A small HTTP client for the lab, run inside a pod namespace (curl may be missing):
 *
 *   node dist/lab/http-client.js URL [--count N] [--method GET|POST] [--body TEXT]
 *                                    [--timeout-ms MS] [--interval-ms MS]
 *
 * Sends N requests (1..10000) one after another and prints one JSON line per response:
 * {"n":1,"status":200,"bytes":42,"body":"..."} (body cut at 4096 characters). Exit
 * status 0 when every request got a response, 1 otherwise.
 */
import { parseArgs } from 'node:util';

const MAX_COUNT = 10_000;
const MAX_BODY_CHARS = 4096;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      count: { type: 'string', default: '1' },
      method: { type: 'string', default: 'GET' },
      body: { type: 'string' },
      'timeout-ms': { type: 'string', default: '5000' },
      'interval-ms': { type: 'string', default: '0' },
    },
  });
  const url = positionals[0];
  if (url === undefined) {
    process.stderr.write('usage: http-client URL [--count N] [--method M] [--body TEXT]\n');
    return 2;
  }
  const count = Math.max(1, Math.min(Number(values.count) || 1, MAX_COUNT));
  const timeoutMs = Math.max(1, Number(values['timeout-ms']) || 5000);
  const intervalMs = Math.max(0, Number(values['interval-ms']) || 0);
  let failed = 0;
  for (let n = 1; n <= count; n++) {
    try {
      const init: RequestInit = { method: values.method ?? 'GET', signal: AbortSignal.timeout(timeoutMs) };
      if (values.body !== undefined) {
        init.body = values.body;
        init.headers = { 'content-type': 'application/json' };
      }
      const res = await fetch(url, init);
      const buf = Buffer.from(await res.arrayBuffer());
      process.stdout.write(JSON.stringify({ n, status: res.status, bytes: buf.length, body: buf.toString('utf8', 0, Math.min(buf.length, MAX_BODY_CHARS)) }) + '\n');
    } catch (e) {
      failed++;
      process.stdout.write(JSON.stringify({ n, error: e instanceof Error ? e.message : String(e) }) + '\n');
    }
    if (intervalMs > 0 && n < count) await new Promise((r) => setTimeout(r, intervalMs));
  }
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(String(e) + '\n');
    process.exitCode = 1;
  },
);
