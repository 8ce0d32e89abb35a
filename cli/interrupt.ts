/**
 * Ctrl-C (SIGINT) or SIGTERM asks a command to wind down: the first one is caught (the
 * command stops starting work, finishes what is under way and prints its summary), the
 * handlers are then released, so a second signal kills at once as usual.
 */
export class Interrupt {
  /** The signal that came, if one did. */
  signal: NodeJS.Signals | undefined = undefined;
  private readonly handler = (sig: NodeJS.Signals): void => {
    this.signal = sig;
    this.release();
    this.onStop();
  };

  constructor(private readonly onStop: () => void = () => undefined) {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  /** Restores the default handlers; idempotent. */
  release(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }

  /** The shell's status for a command ended by the signal: 128 + its number (130, 143). */
  get exitStatus(): number {
    return 128 + (this.signal === 'SIGINT' ? 2 : 15);
  }
}
