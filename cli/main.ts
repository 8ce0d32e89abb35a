#!/usr/bin/env node
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT, reportError, usageError } from './errors.js';

const USAGE = `usage: podspan <command> [options]

  read FILE [--json] [-c COUNT]   decode a pcap/pcapng ('-' = stdin); one line per packet
  convert IN OUT                  pcap <-> pcapng (format from OUT's extension)
  flows FILE [--json] [--max-flows N]
                                  TCP/UDP conversations: packets and bytes each way, start, end, state
  streams FILE -o DIR [--json] [--memcap SIZE] [--max-connections N]
                                  reassembled TCP payload per connection and direction
  agent [--iface IF]... [--pod-ip IP]... [--pod NS/NAME | --selector K=V,.. [--namespace NS]] [--kube-api URL]
        [--filter BPF] [--snaplen N] [-w FILE|-] [--to URL]... [-c N] [--duration S] [--metrics ADDR]
        [--token-file FILE] [--ca FILE] [--spool-size SIZE] [--spool-dir DIR]   (for ws:// and wss://)
        [--mode packets|streams]   (streams: TCP reassembled on the node, shipped over ws:// or wss://)
        URL: vxlan://H[:P]?vni=N  gre://H[?key=N]  erspan://H?session=N&version=2|3  ws://H:P  wss://H:P
             (vxlan, gre, erspan also take mtu=N, oversize=segment|truncate, truncate=N)
                                  capture pod veths with libpcap into pcapng and/or mirror them to a collector
  collector [--vxlan ADDR]... [--gre] [--ws ADDR (--token-file FILE | --insecure-no-token)
            [--tls-cert FILE --tls-key FILE]] [--out DIR] [--rotate-size SIZE] [--rotate-time DUR]
            [--keep-files N] [--keep-bytes SIZE] [--split-by pod|source|none] [--stdout] [--tap IF]
            [--replay-to H:P [--diff FILE] [--report FILE.html] [--ignore-header K]... [--ignore-path $.a]...]
            [--metrics ADDR]
                                  receive mirrored traffic (VXLAN, GRE, ERSPAN I/II/III, podspan's
                                  WebSocket tunnel), store it, stream it, or re-inject it for an IDS
  lab up|down|status              the local lab node (network namespaces)
  demo [--out DIR] [--requests N] [--clients N] [--prefix P] [--subnet CIDR] [--json]
                                  the whole path on the lab node, ending in a report

  replay FILE (--iface IF | --to H:P) [--mode packet|stream|http] [--speed X|max] [--json]
         [--include-partial] [--concurrency N] [--timeout S] [--memcap SIZE] [--queue SIZE]
         [--diff FILE] [--report FILE.html] [--rate RPS] [--sample PCT] [--sample-by HEADER]
         [--host NAME] [--set-header 'K: V']... [--remove-header K]... [--ignore-header K]...
         [--compare-header K]... [--ignore-path $.a.b]...
         [--src-mac MAC] [--dst-mac MAC] [--map-ip OLD=NEW]... [-c N] [--loop N]
                                  replay a capture: frames onto an interface (packet), each TCP
                                  connection's client bytes to a shadow (stream), or HTTP requests
                                  with the shadow's responses compared to production's (http)


Exit status: 0 success, 1 runtime or data error, 2 usage error.
`;

type Options = NonNullable<ParseArgsConfig['options']>;

function parse(argv: string[], options: Options, positionals: [min: number, max: number], cmd: string) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageError(`${cmd}: ${(e as Error).message.replace(/\. To specify.*$/s, '')} (see: podspan ${cmd} --help)`);
  }
  const n = parsed.positionals.length;
  if (n < positionals[0] || n > positionals[1]) {
    throw usageError(`${cmd}: expected ${positionals[0] === positionals[1] ? positionals[0] : `${positionals[0]} to ${positionals[1]}`} argument(s), got ${n} (see: podspan --help)`);
  }
  return parsed;
}

function positiveInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < 1) throw usageError(`${flag} wants a positive whole number, got "${v}"`);
  return Number(v);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined) {
    // A usage error: the usage goes where errors go.
    process.stderr.write(USAGE);
    return EXIT.USAGE;
  }
  if (cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(USAGE);
    return EXIT.OK;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return EXIT.OK;
  }
  switch (cmd) {
    case 'read': {
      const a = parse(rest, { json: { type: 'boolean' }, count: { type: 'string', short: 'c' } }, [1, 1], cmd);
      const { runRead } = await import('./read.js');
      const count = positiveInt(a.values.count as string | undefined, '-c');
      return runRead(a.positionals[0]!, { json: a.values.json === true, ...(count !== undefined ? { count } : {}) });
    }
    case 'convert': {
      const a = parse(rest, {}, [2, 2], cmd);
      const { runConvert } = await import('./convert.js');
      return runConvert(a.positionals[0]!, a.positionals[1]!);
    }
    case 'lab': {
      const a = parse(rest, {}, [1, 1], cmd);
      const { runLab } = await import('./lab.js');
      return runLab(a.positionals[0]!);
    }
    case 'demo': {
      const { DEMO_OPTIONS, runDemo } = await import('./demo.js');
      return runDemo(parse(rest, DEMO_OPTIONS, [0, 0], cmd).values);
    }
    case 'flows': {
      const a = parse(rest, { json: { type: 'boolean' }, 'max-flows': { type: 'string' } }, [1, 1], cmd);
      const { runFlows } = await import('./flows.js');
      const maxFlows = positiveInt(a.values['max-flows'] as string | undefined, '--max-flows');
      return runFlows(a.positionals[0]!, { json: a.values.json === true, ...(maxFlows !== undefined ? { maxFlows } : {}) });
    }
    case 'streams': {
      const a = parse(rest, { json: { type: 'boolean' }, out: { type: 'string', short: 'o' }, memcap: { type: 'string' }, 'max-connections': { type: 'string' } }, [1, 1], cmd);
      if (typeof a.values.out !== 'string') throw usageError('streams: -o DIR is required (where to write the reassembled payload)');
      const { runStreams, DEFAULT_STREAMS_MEMCAP } = await import('./streams.js');
      const { parseSize } = await import('./units.js');
      const memCapBytes = typeof a.values.memcap === 'string' ? parseSize(a.values.memcap, '--memcap') : DEFAULT_STREAMS_MEMCAP;
      const maxConnections = positiveInt(a.values['max-connections'] as string | undefined, '--max-connections');
      return runStreams(a.positionals[0]!, { outDir: a.values.out, json: a.values.json === true, memCapBytes, ...(maxConnections !== undefined ? { maxConnections } : {}) });
    }
    case 'agent': {
      const { AGENT_OPTIONS, runAgent } = await import('./agent.js');
      return runAgent(parse(rest, AGENT_OPTIONS, [0, 0], cmd).values);
    }
    case 'collector': {
      const { COLLECTOR_OPTIONS, runCollector } = await import('./collector.js');
      return runCollector(parse(rest, COLLECTOR_OPTIONS, [0, 0], cmd).values);
    }
    case 'replay': {
      const { REPLAY_OPTIONS, runReplay } = await import('./replay.js');
      const a = parse(rest, REPLAY_OPTIONS, [1, 1], cmd);
      return runReplay(a.positionals[0]!, a.values);
    }
    default:
      throw usageError(`unknown command "${cmd}" (see: podspan --help)`);
  }
}

let settled = false;
// A command whose last promise can never settle (an I/O event that will not come) would
// otherwise end with status 0 as if it had succeeded.
process.once('beforeExit', () => {
  if (settled) return;
  process.stderr.write('podspan: internal error: the command stopped before finishing (a bug: please report it with the command line)\n');
  process.exitCode = EXIT.RUNTIME;
});
main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (e: unknown) => {
    settled = true;
    process.exitCode = reportError(e);
  },
);
