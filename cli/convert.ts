import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { extname } from 'node:path';
import { ERR, PodspanError } from '../packet/errors.js';
import { CapfileReader } from '../packet/capfile/reader.js';
import { PcapWriter } from '../packet/capfile/pcap-writer.js';
import { PcapngWriter } from '../packet/capfile/pcapng-writer.js';
import type { CaptureInterface, PacketRecord } from '../packet/capfile/types.js';
import { forEachRecord } from './input.js';
import { usageError } from './errors.js';

function outputFormat(out: string): 'pcap' | 'pcapng' {
  const ext = extname(out).toLowerCase();
  if (ext === '.pcap' || ext === '.cap' || ext === '.dmp') return 'pcap';
  if (ext === '.pcapng' || ext === '.ntar') return 'pcapng';
  throw usageError(`cannot tell the output format from "${out}": name it *.pcap or *.pcapng`);
}

/** Interface key across pcapng sections. */
function ifaceKey(i: CaptureInterface): string {
  return `${i.section}/${i.id}`;
}

/**
 * `podspan convert IN OUT`: pcap <-> pcapng, the format chosen by OUT's extension.
 * Records keep their data, lengths and nanosecond timestamps. pcapng output keeps each
 * input interface's timestamp resolution, so pcap -> pcapng -> pcap gives back the
 * original records; pcap output uses the nanosecond magic when any input interface is
 * finer than a microsecond.
 */
export async function runConvert(input: string, output: string): Promise<number> {
  const format = outputFormat(output);
  const out = createWriteStream(output);
  const opened = once(out, 'open');
  opened.catch(() => {});
  let outError: Error | undefined;
  out.on('error', (e) => {
    outError = e;
  });
  const write = async (bufs: Buffer | Buffer[]): Promise<void> => {
    if (outError) throw new PodspanError(ERR.IO, `cannot write ${output}: ${outError.message}`);
    let ok = true;
    if (Array.isArray(bufs)) for (const b of bufs) ok = out.write(b) && ok;
    else ok = out.write(bufs);
    if (!ok) await once(out, 'drain');
  };

  let pcap: PcapWriter | undefined;
  let pcapLinkType = -1;
  const ng = format === 'pcapng' ? new PcapngWriter() : undefined;
  const ngIds = new Map<string, number>();
  const reader = new CapfileReader();
  // pcapng output: interface blocks are written as the input declares them, so interfaces
  // without packets (and files without any) keep their description.
  const pendingBlocks: Buffer[] = [];
  if (ng) {
    pendingBlocks.push(ng.sectionHeader({ userAppl: 'podspan convert' }));
    reader.onInterface = (iface: CaptureInterface): void => {
      const added = ng.addInterface({
        linkType: iface.linkType,
        snapLen: iface.snapLen,
        tsResolPower: iface.tsResolPower,
        tsResolBinary: iface.tsResolBinary,
        // The input already mixes link types (Wireshark-class readers only); keep it as it is.
        allowMixedLinkTypes: true,
        ...(iface.name !== undefined ? { name: iface.name } : {}),
        ...(iface.description !== undefined ? { description: iface.description } : {}),
      });
      ngIds.set(ifaceKey(iface), added.id);
      pendingBlocks.push(added.block);
    };
  }
  let invalidTs = 0;

  const onRecord = async (rec: PacketRecord): Promise<void> => {
    const iface = rec.iface;
    if (pendingBlocks.length > 0) await write(pendingBlocks.splice(0));
    if (rec.tsInvalid) invalidTs++;
    if (format === 'pcap') {
      if (!pcap) {
        // The pcap file header holds one link type and snaplen: take the first interface's,
        // keep the input's resolution and header fields so pcap -> pcap is byte-exact.
        pcapLinkType = iface.linkType;
        const finer = reader.interfaces.some((i) => i.tsResolBinary || i.tsResolPower > 6);
        pcap = new PcapWriter({
          linkType: iface.linkType,
          snapLen: Math.max(...reader.interfaces.map((i) => i.snapLen)),
          nanosecond: finer,
          bigEndian: reader.format === 'pcap' ? iface.bigEndian : false,
          versionMajor: reader.format === 'pcap' ? iface.pcapVersionMajor : 2,
          versionMinor: reader.format === 'pcap' ? iface.pcapVersionMinor : 4,
        });
        await write(pcap.header());
      } else if (iface.linkType !== pcapLinkType) {
        throw new PodspanError(
          ERR.CAPFILE_MIXED_LINKTYPES,
          `${input} mixes link types ${pcapLinkType} and ${iface.linkType}; a pcap file holds one: convert to .pcapng instead`,
        );
      }
      await write(pcap.record(rec));
      return;
    }
    const w = ng!;
    const id = ngIds.get(ifaceKey(iface))!;
    await write(w.packet(id, rec, rec.comments.length ? { comments: rec.comments } : {}));
  };

  try {
    await opened;
    await forEachRecord(input, onRecord, reader);
    if (pendingBlocks.length > 0) await write(pendingBlocks.splice(0));
    if (format === 'pcap' && !pcap) {
      const first = reader.interfaces[0];
      if (!first) throw new PodspanError(ERR.CAPFILE_NO_INTERFACE, `${input} has no interface description: nothing to write a pcap header from`);
      pcap = new PcapWriter({ linkType: first.linkType, snapLen: first.snapLen, nanosecond: first.tsResolPower > 6 || first.tsResolBinary });
      await write(pcap.header());
    }
  } finally {
    out.end();
    await once(out, 'close').catch(() => {});
  }
  if (outError) throw new PodspanError(ERR.IO, `cannot write ${output}: ${(outError as Error).message}`);
  if (invalidTs > 0) {
    // Not silent: the input claimed ts_nsec >= 1e9, which no output timestamp can hold as is.
    process.stderr.write(`podspan: warning: ${invalidTs} record(s) of ${input} had an invalid nanosecond field (>= 1e9); written as the time it adds up to\n`);
  }
  return 0;
}
