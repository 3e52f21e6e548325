/**
 * Which ARI channels and bridges live sessions of this controller still use. After an event
 * socket (re)connect, whatever the application owns in Asterisk but this book does not know
 * is left over from a crash or a lost socket, and is released (see reconcile in controller.ts).
 */
import type { Ownership } from './session.js';

export class OwnershipBook implements Ownership {
  private readonly counts = new Map<string, number>();

  claim(id: string): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  release(id: string): void {
    const n = this.counts.get(id);
    if (n === undefined) return;
    if (n <= 1) this.counts.delete(id);
    else this.counts.set(id, n - 1);
  }

  has(id: string): boolean {
    return this.counts.has(id);
  }

  get size(): number {
    return this.counts.size;
  }
}
