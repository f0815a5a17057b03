import { closeSync, constants, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** What the last process on this data directory left in its lease mark. */
export interface LeaseMarkState {
  /** The process was running at this time (ms since the epoch). */
  readonly alive: number;
  /** Every lease renewal acknowledged before this time was journalled durably. */
  readonly durable: number;
  /** The process stopped gracefully: every acknowledged renewal is journalled. */
  readonly clean: boolean;
}

const SIZE = 24;

/**
 * LeaseMark is the file `lease-mark` in data_dir: three numbers the registry
 * rewrites every few hundred milliseconds, so that a restart after kill -9 knows
 * when the process died and which lease renewals may have been acknowledged but
 * not journalled (renewals are journalled in batches, after they are answered).
 *
 * It is written in place with pwrite and never fsynced: a write reaches the page
 * cache, which outlives a killed process. After a power loss the mark can be
 * stale, and the registry then restores leases by the journal alone.
 */
export class LeaseMark {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(SIZE);
  private open = true;
  /** The state the previous process left, or undefined when there is no mark (a new or older data directory). */
  readonly previous: LeaseMarkState | undefined;

  constructor(dataDir: string) {
    this.fd = openSync(join(dataDir, 'lease-mark'), constants.O_RDWR | constants.O_CREAT, 0o600);
    this.previous = this.read();
  }

  /** write records the process as running at `alive`, with renewals before `durable` journalled; after close it does nothing. */
  write(alive: number, durable: number, clean = false): void {
    if (!this.open) return;
    this.buf.writeDoubleBE(alive, 0);
    this.buf.writeDoubleBE(durable, 8);
    this.buf.writeDoubleBE(clean ? 1 : 0, 16);
    writeSync(this.fd, this.buf, 0, SIZE, 0);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
  }

  private read(): LeaseMarkState | undefined {
    if (fstatSync(this.fd).size < SIZE) return undefined;
    const buf = Buffer.alloc(SIZE);
    if (readSync(this.fd, buf, 0, SIZE, 0) < SIZE) return undefined;
    const alive = buf.readDoubleBE(0);
    const durable = buf.readDoubleBE(8);
    if (!Number.isFinite(alive) || !Number.isFinite(durable)) return undefined;
    return { alive, durable, clean: buf.readDoubleBE(16) === 1 };
  }
}
