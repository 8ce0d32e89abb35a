import { statSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import { ERR, PodspanError } from '../packet/errors.js';
import { CapfileReader } from '../packet/capfile/reader.js';
import { PcapWriter } from '../packet/capfile/pcap-writer.js';
import { PcapngWriter } from '../packet/capfile/pcapng-writer.js';
import type { CaptureInterface, PacketRecord } from '../packet/capfile/types.js';
import { forEachRecord } from './input.js';
import { usageError } from './errors.js';
import { checkCaptureFile } from '../collector/capture-file.js';

/** Output is gathered up to this many bytes per write. */
const OUT_BATCH_BYTES = 1 << 20;

/**
 * Where `convert` writes: a regular file is written under a temporary name beside OUT and
 * renamed over it only when the whole conversion succeeded (a failed run leaves OUT as it
 * was, never a cut-off file that reads as complete); anything else (a FIFO, /dev/stdout) is
 * written in place.
 */
class ConvertOutput {
  private fh: FileHandle | undefined;
  private tmp: string | undefined;
  private bufs: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly path: string) {}

  async open(): Promise<void> {
    let special = false;
    try {
      special = !statSync(this.path).isFile();
    } catch {
      // absent: a new regular file
    }
    this.tmp = special ? undefined : `${this.path}.podspan-${process.pid}.part`;
    try {
      this.fh = await open(this.tmp ?? this.path, 'w');
    } catch (e) {
      throw new PodspanError(ERR.IO, `cannot create ${this.path}: ${(e as Error).message}`);
    }
  }

  async write(b: Buffer | Buffer[]): Promise<void> {
    if (Array.isArray(b)) for (const x of b) this.push(x);
    else this.push(b);
    if (this.bytes >= OUT_BATCH_BYTES) await this.flush();
  }

  private push(b: Buffer): void {
    this.bufs.push(b);
    this.bytes += b.length;
  }

  private async flush(): Promise<void> {
    const bufs = this.bufs;
    this.bufs = [];
    this.bytes = 0;
    try {
      for (let i = 0; i < bufs.length; i += 1024) await this.fh!.writev(bufs.slice(i, i + 1024));
    } catch (e) {
      throw new PodspanError(ERR.IO, `cannot write ${this.path}: ${(e as Error).message}`);
    }
  }

  /** Writes what is left, closes and puts the file in place. */
  async commit(): Promise<void> {
    await this.flush();
    try {
      await this.fh!.close();
      this.fh = undefined;
      if (this.tmp !== undefined) await rename(this.tmp, this.path);
      this.tmp = undefined;
    } catch (e) {
      throw new PodspanError(ERR.IO, `cannot write ${this.path}: ${(e as Error).message}`);
    }
  }

  /** After a failure: closes and removes the temporary file (OUT is untouched). */
  async abandon(): Promise<void> {
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    if (this.tmp !== undefined) await unlink(this.tmp).catch(() => undefined);
  }
}

/** Usage error when OUT names the file IN is (a hard link or symlink included): writing it would destroy the input. */
function refuseSameFile(input: string, output: string): void {
  if (input === '-') return;
  let a, b;
  try {
    a = statSync(input);
    b = statSync(output);
  } catch {
    return;
  }
  if (a.dev === b.dev && a.ino === b.ino) throw usageError(`convert: ${output} is the input file itself: give another output name`);
}

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
  refuseSameFile(input, output);
  // The input is checked before the output is created: a missing or empty input never
  // costs the user an existing OUT.
  if (input !== '-') await checkCaptureFile(input);
  const out = new ConvertOutput(output);
  const write = (bufs: Buffer | Buffer[]): Promise<void> => out.write(bufs);

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

  await out.open();
  try {
    await forEachRecord(input, onRecord, reader);
    if (pendingBlocks.length > 0) await write(pendingBlocks.splice(0));
    if (format === 'pcap' && !pcap) {
      const first = reader.interfaces[0];
      if (!first) throw new PodspanError(ERR.CAPFILE_NO_INTERFACE, `${input} has no interface description: nothing to write a pcap header from`);
      pcap = new PcapWriter({ linkType: first.linkType, snapLen: first.snapLen, nanosecond: first.tsResolPower > 6 || first.tsResolBinary });
      await write(pcap.header());
    }
    await out.commit();
  } catch (e) {
    // A cut-off input keeps every complete record, as editcap does: the error says where it
    // stopped. Any other failure leaves OUT as it was.
    if (e instanceof PodspanError && e.code === ERR.CAPFILE_TRUNCATED && (format === 'pcapng' || pcap !== undefined)) {
      // The section and interface blocks wait for the first record: written now, so that even
      // an input cut before its first record gives a valid (empty) pcapng, never a 0-byte file.
      if (pendingBlocks.length > 0) await write(pendingBlocks.splice(0));
      await out.commit();
    } else {
      await out.abandon();
    }
    throw e;
  }
  if (invalidTs > 0) {
    // Not silent: the input claimed ts_nsec >= 1e9, which no output timestamp can hold as is.
    process.stderr.write(`podspan: warning: ${invalidTs} record(s) of ${input} had an invalid nanosecond field (>= 1e9); written as the time it adds up to\n`);
  }
  return 0;
}
