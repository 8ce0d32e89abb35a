import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { loadConnections } from '../../../collector/replay/capture.js';
import { HttpConversation } from '../../../packet/http/exchange.js';
import { CORPUS_DIR, corpusFiles, requireCorpus } from '../../helpers/corpus.js';

const execFileP = promisify(execFile);

/**
 * Files where tshark is not a usable oracle, and why. tcp-urgent1: the request is split by
 * a TCP urgent byte; our reassembler delivers that byte inline (GET /malicXious) and tshark
 * does not dissect the request at all (it still shows the response).
 */
const TSHARK_DIFFERS: Record<string, { requests?: string[]; codes?: string[] }> = {
  'OISF+suricata-verify/tests/tcp-urgp-01-oob/tcp-urgent1.pcap': { requests: ['GET /malicXious'] },
  // The body of the second response is missing (a 12-byte capture gap). The reassembled
  // stream has no filler, so the framer takes the next response's first 12 bytes as that
  // body and stops (malformed): 1 response instead of tshark's 2. Replay skips connections
  // with gaps unless --include-partial. TODO(#6): gap-aware framing (resynchronise).
  'OISF+suricata-verify/tests/http-gap-whole-body/input.pcap': { codes: ['200'] },
  // One packet: a response whose request is not in the capture (an orphan, counted, not paired).
  'the-tcpdump-group+tcpdump/tests/ipv4_tcp_http_xml.pcap': { codes: [] },
};

/** Corpus files whose protocol hierarchy in INDEX.md (tshark's) includes http. */
function httpInIndex(): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync(join(CORPUS_DIR, 'INDEX.md'), 'utf8').split('\n')) {
    const m = /^\| `([^`]+\.pcap(?:ng)?)` \|.*:http[:(]/.exec(line);
    if (m !== null) out.add(m[1]!);
  }
  return out;
}

t.test('requests and response codes framed from every corpus capture match tshark', async (t) => {
  if (!requireCorpus(t)) return;
  let checked = 0;
  const indexed = httpInIndex();
  for (const f of corpusFiles()) {
    const rel = relative(CORPUS_DIR, f);
    let conns;
    try {
      conns = (await loadConnections(f)).conns;
    } catch {
      continue; // damaged files: the capfile tests cover them
    }
    const requests: string[] = [];
    const codes: string[] = [];
    for (const c of conns) {
      const conv = new HttpConversation({
        onExchange: (e) => {
          requests.push(`${e.request.method} ${e.request.target}`);
          if (e.response !== null) codes.push(String(e.response.status));
        },
      });
      conv.pushRequestBytes(c.c2s.data);
      conv.pushResponseBytes(c.s2c.data);
      conv.flush();
    }
    // tshark only where it or we see HTTP (one tshark run per corpus file is too slow).
    if (requests.length === 0 && codes.length === 0 && ![...indexed].some((p) => rel.endsWith(p))) continue;
    let out: string;
    try {
      out = (await execFileP('tshark', ['-r', f, '-n', '-Y', 'http.request || http.response', '-T', 'fields', '-e', 'http.request.method', '-e', 'http.request.uri', '-e', 'http.response.code'], { maxBuffer: 64 * 1024 * 1024 })).stdout;
    } catch {
      continue;
    }
    const tReq: string[] = [];
    const tCodes: string[] = [];
    for (const l of out.split('\n').filter(Boolean)) {
      const [m, u, code] = l.split('\t');
      if (m) tReq.push(`${m} ${u}`);
      if (code) tCodes.push(code);
    }
    if (requests.length === 0 && tReq.length === 0 && tCodes.length === 0) continue;
    checked++;
    const special = TSHARK_DIFFERS[rel];
    t.same(requests.sort(), (special?.requests ?? tReq).sort(), `${rel}: requests`);
    t.same(codes.sort(), (special?.codes ?? tCodes).sort(), `${rel}: response status codes`);
  }
  t.ok(checked >= 5, `${checked} captures with HTTP compared`);
});
