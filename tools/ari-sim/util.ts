import { readFileSync } from 'node:fs';

/** Asterisk's timestamp format: `2026-11-24T15:39:25.973+0000` (UTC). */
export function asteriskTimestamp(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/** Q.850 cause texts as Asterisk prints them in `cause_txt`. */
const CAUSE_TEXT: Record<number, string> = {
  0: 'Unknown',
  1: 'Unallocated (unassigned) number',
  16: 'Normal Clearing',
  17: 'User busy',
  18: 'No user responding',
  19: 'User alerting, no answer',
  20: 'Subscriber absent',
  21: 'Call Rejected',
  26: 'Answered elsewhere',
  27: 'Destination out of order',
  28: 'Invalid number format (incomplete number)',
  31: 'Normal, unspecified',
  34: 'Circuit/channel congestion',
  38: 'Network out of order',
  58: 'Bearer capability not available',
  127: 'Interworking, unspecified',
};
export function causeText(cause: number): string {
  return CAUSE_TEXT[cause] ?? 'Unknown';
}

/** `DELETE /channels/{id}?reason=` names (ARI) → Q.850 cause codes. */
export const HANGUP_REASONS: Record<string, number> = {
  normal: 16,
  busy: 17,
  congestion: 34,
  no_answer: 19,
  timeout: 19,
  rejected: 21,
  unallocated: 1,
  normal_unspecified: 31,
  number_incomplete: 28,
  codec_mismatch: 58,
  interworking: 127,
  failure: 38,
  answered_elsewhere: 26,
};

export const WAV_RATE = 8000;

/** A 8 kHz 16-bit mono PCM WAV of `durationMs` (silence, or a 440 Hz tone where `toneMs` says). */
export function makeWav(durationMs: number, toneMs = 0): Buffer {
  const samples = Math.max(0, Math.round((durationMs * WAV_RATE) / 1000));
  const toneSamples = Math.min(samples, Math.round((toneMs * WAV_RATE) / 1000));
  const buf = Buffer.alloc(44 + samples * 2);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + samples * 2, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(WAV_RATE, 24);
  buf.writeUInt32LE(WAV_RATE * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < toneSamples; i++) {
    buf.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / WAV_RATE)), 44 + i * 2);
  }
  return buf;
}

/** Length in ms of a PCM WAV file, read from its header; undefined if it is not one. */
export function wavDurationMs(file: string): number | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return undefined;
  }
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE')
    return undefined;
  let byteRate = 0;
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ') byteRate = buf.readUInt32LE(off + 16);
    if (id === 'data')
      return byteRate > 0 ? Math.round((Math.min(size, buf.length - off - 8) * 1000) / byteRate) : undefined;
    off += 8 + size + (size % 2);
  }
  return undefined;
}

/** A bounded append-only log: old entries fall off so long benchmark runs do not grow memory. */
export class BoundedLog<T> {
  private items: T[] = [];
  constructor(private readonly limit: number) {}
  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.limit * 2) this.items = this.items.slice(-this.limit);
  }
  all(): T[] {
    return this.items.slice(-this.limit);
  }
}
