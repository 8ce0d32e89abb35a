/**
 * Resolves when `stream` drains or closes; rejects on an error other than EPIPE, resolves
 * `true` on EPIPE (the reader went away). Removes its listeners either way.
 */
export function waitDrain(stream: NodeJS.WritableStream): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      stream.removeListener('drain', onDrain);
      stream.removeListener('close', onDrain);
      stream.removeListener('error', onError);
    };
    const onDrain = (): void => {
      done();
      resolve(false);
    };
    const onError = (e: NodeJS.ErrnoException): void => {
      done();
      if (e.code === 'EPIPE') resolve(true);
      else reject(e);
    };
    stream.on('drain', onDrain);
    stream.on('close', onDrain);
    stream.on('error', onError);
  });
}

const FLUSH_AT = 1 << 18;

/**
 * Line output for people and pipes: collects text and writes it in large chunks,
 * waiting for 'drain' so a slow reader (`| less`) applies back-pressure instead of
 * memory growth. A closed pipe (`| head`) ends the command quietly, as tcpdump does.
 */
export class LineOutput {
  private parts: string[] = [];
  private size = 0;
  private closed = false;
  private readonly stream: NodeJS.WritableStream;

  constructor(stream: NodeJS.WritableStream = process.stdout) {
    this.stream = stream;
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') this.closed = true;
      else throw e;
    });
  }

  /** True once the reader went away; callers stop producing. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Appends one line (without its newline). Returns a promise only when a flush must be awaited. */
  line(s: string): Promise<void> | undefined {
    this.parts.push(s);
    this.size += s.length + 1;
    if (this.size >= FLUSH_AT) return this.flush();
    return undefined;
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0 || this.closed) {
      this.parts.length = 0;
      this.size = 0;
      return;
    }
    const text = this.parts.join('\n') + '\n';
    this.parts.length = 0;
    this.size = 0;
    if (!this.stream.write(text)) {
      if (await waitDrain(this.stream)) this.closed = true;
    }
  }
}
