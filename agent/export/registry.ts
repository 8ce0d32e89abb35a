/**
 * The `--to URL` transports. Each transport's file exports an ExporterKind; this list is
 * the only place that names them all.
 */
import type { ExportEndpoint } from '../exclude.js';
import type { Exporter, ExporterKind } from './exporter.js';
import { ERSPAN_EXPORTER } from './erspan.js';
import { GRE_EXPORTER } from './gre.js';
import { VXLAN_EXPORTER } from './vxlan.js';
import { WS_EXPORTER } from './ws.js';

const KINDS: ReadonlyArray<ExporterKind<unknown>> = [VXLAN_EXPORTER as ExporterKind<unknown>, GRE_EXPORTER as ExporterKind<unknown>, ERSPAN_EXPORTER as ExporterKind<unknown>, WS_EXPORTER as ExporterKind<unknown>];

/** Every scheme of the CLI contract (ARCHITECTURE.md), built or not. */
const CONTRACT_SCHEMES = ['vxlan:', 'gre:', 'erspan:', 'ws:', 'wss:'];

/** A parsed `--to` target, ready to open. */
export interface ExportTarget {
  readonly url: string;
  readonly endpoint: ExportEndpoint;
  open(): Promise<Exporter>;
}

/** The URL forms this build supports, for messages. */
export function exportUsages(): string[] {
  return KINDS.map((k) => k.usage);
}

/** Parses `--to URL`; throws RangeError with a message for the user. */
export function parseExportTarget(url: string): ExportTarget {
  let scheme: string;
  try {
    scheme = new URL(url).protocol;
  } catch {
    throw new RangeError(`export target "${url}" is not a URL (${exportUsages().join(', ')})`);
  }
  const kind = KINDS.find((k) => k.schemes.includes(scheme));
  if (kind === undefined && CONTRACT_SCHEMES.includes(scheme)) {
    throw new RangeError(`${url}: ${scheme.replace(/:$/, '')} export is part of the CLI contract but not in this build yet; use ${exportUsages().join(' or ')}`);
  }
  if (kind === undefined) throw new RangeError(`export target "${url}": unknown scheme ${scheme.replace(/:$/, '')} (this build exports to ${exportUsages().join(', ')})`);
  const target = kind.parse(url);
  return { url, endpoint: kind.endpoint(target), open: () => kind.open(target) };
}
