import type { Clock, Timers } from '../../src/index.js';

interface Scheduled {
  id: number;
  at: number;
  fn: () => void;
  keepAlive: boolean;
}

/** A manual clock and timer queue: time moves only when a test calls `advance`. */
export class FakeTime implements Clock, Timers {
  private current: number;
  private nextId = 1;
  private queue: Scheduled[] = [];

  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number, keepAlive = false): unknown {
    const entry = { id: this.nextId++, at: this.current + Math.max(0, ms), fn, keepAlive };
    this.queue.push(entry);
    return entry.id;
  }

  clearTimeout(handle: unknown): void {
    this.queue = this.queue.filter((t) => t.id !== handle);
  }

  /** Timers still pending (for asserting that close() clears them). */
  get pending(): number {
    return this.queue.length;
  }

  /** When the next pending timer is due (undefined when none is). */
  get nextAt(): number | undefined {
    return this.queue.length ? Math.min(...this.queue.map((t) => t.at)) : undefined;
  }

  /** Pending timers that would keep a real process alive. */
  get pendingKeepAlive(): number {
    return this.queue.filter((t) => t.keepAlive).length;
  }

  /** Move time forward by `ms`, firing due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.current + ms;
    for (;;) {
      await flush();
      const due = this.queue.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.queue = this.queue.filter((t) => t !== due);
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = end;
    await flush();
  }
}

/** Let pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
}
