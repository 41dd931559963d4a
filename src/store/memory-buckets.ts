/**
 * Time buckets and a due-time heap: the two structures that keep the memory store's retention
 * sweep and webhook claims proportional to what expires or falls due, not to what is stored.
 */

/** Buckets keyed by `floor(t / width) * width`, iterable oldest first. */
export class TimeBuckets<B> {
  readonly widthMs: number;
  readonly #byStart = new Map<number, B>();
  /** Bucket starts, ascending. */
  readonly #starts: number[] = [];
  readonly #create: () => B;
  #lastStart = Number.NaN;
  #lastBucket: B | undefined;

  constructor(widthMs: number, create: () => B) {
    if (!Number.isFinite(widthMs) || widthMs <= 0) throw new RangeError('bucket width must be > 0');
    this.widthMs = widthMs;
    this.#create = create;
  }

  startOf(timeMs: number): number {
    return Math.floor(timeMs / this.widthMs) * this.widthMs;
  }

  /** The bucket holding `timeMs`, created when missing. */
  at(timeMs: number): B {
    const start = this.startOf(timeMs);
    if (start === this.#lastStart) return this.#lastBucket!;
    let bucket = this.#byStart.get(start);
    if (bucket === undefined) {
      bucket = this.#create();
      this.#byStart.set(start, bucket);
      // Appends are nearly always to the newest bucket; otherwise insert in order.
      const n = this.#starts.length;
      if (n === 0 || this.#starts[n - 1]! < start) this.#starts.push(start);
      else this.#starts.splice(lowerBound(this.#starts, start), 0, start);
    }
    this.#lastStart = start;
    this.#lastBucket = bucket;
    return bucket;
  }

  peek(timeMs: number): B | undefined {
    return this.#byStart.get(this.startOf(timeMs));
  }

  /** Oldest bucket start, or undefined when empty. */
  oldestStart(): number | undefined {
    return this.#starts[0];
  }

  get(start: number): B | undefined {
    return this.#byStart.get(start);
  }

  delete(start: number): void {
    if (!this.#byStart.delete(start)) return;
    const i = this.#starts[0] === start ? 0 : this.#starts.indexOf(start);
    if (i === 0) this.#starts.shift();
    else if (i > 0) this.#starts.splice(i, 1);
    if (start === this.#lastStart) {
      this.#lastStart = Number.NaN;
      this.#lastBucket = undefined;
    }
  }

  /** Starts ascending (a copy, safe to delete while iterating). */
  startsAscending(): number[] {
    return this.#starts.slice();
  }

  get size(): number {
    return this.#starts.length;
  }

  *values(): IterableIterator<B> {
    for (const start of this.#starts) yield this.#byStart.get(start)!;
  }
}

/** First index i with sorted[i] ≥ value. */
export function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index i with key(items[i]) ≥ value, for items sorted by key. */
export function lowerBoundBy<T>(items: readonly T[], value: number, key: (item: T) => number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(items[mid]!) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface HeapEntry {
  readonly dueMs: number;
  readonly id: string;
  readonly generation: number;
}

/**
 * A min-heap of (due time, id) with lazy invalidation: an entry counts only if its generation
 * still matches the item's (`isCurrent`), so moving an item pushes a new entry and leaves the
 * old one to be discarded when it reaches the top.
 */
export class DueHeap {
  readonly #heap: HeapEntry[] = [];

  push(dueMs: number, id: string, generation: number): void {
    const heap = this.#heap;
    const entry: HeapEntry = { dueMs, id, generation };
    // Sift up by moving the hole (no swaps, no temporary arrays).
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.dueMs <= dueMs) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  /** Drops stale entries from the top; returns the earliest current entry without removing it. */
  peek(isCurrent: (id: string, generation: number) => boolean): HeapEntry | undefined {
    while (this.#heap.length > 0) {
      const top = this.#heap[0]!;
      if (isCurrent(top.id, top.generation)) return top;
      this.pop();
    }
    return undefined;
  }

  pop(): HeapEntry | undefined {
    const heap = this.#heap;
    if (heap.length === 0) return undefined;
    const top = heap[0]!;
    const last = heap.pop()!;
    const n = heap.length;
    if (n > 0) {
      // Sift `last` down from the root by moving the hole.
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const m = r < n && heap[r]!.dueMs < heap[l]!.dueMs ? r : l;
        if (heap[m]!.dueMs >= last.dueMs) break;
        heap[i] = heap[m]!;
        i = m;
      }
      heap[i] = last;
    }
    return top;
  }

  /**
   * Drops every stale entry at once (O(n)) when they outnumber the current ones, so a queue whose
   * pieces are claimed (a lease entry each) and acknowledged long before the lease runs out does
   * not carry a heap of dead entries. Returns true when it compacted.
   */
  compact(isCurrent: (id: string, generation: number) => boolean, current: number): boolean {
    const heap = this.#heap;
    if (heap.length < 64 || heap.length <= 2 * current) return false;
    const live = heap.filter((e) => isCurrent(e.id, e.generation));
    heap.length = 0;
    for (const e of live) this.push(e.dueMs, e.id, e.generation);
    return true;
  }

  get size(): number {
    return this.#heap.length;
  }

  clear(): void {
    this.#heap.length = 0;
  }
}

/** A plain binary min-heap ordered by `key`. */
export class MinHeap<T> {
  readonly #items: T[] = [];
  readonly #key: (item: T) => number;

  constructor(key: (item: T) => number) {
    this.#key = key;
  }

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    const k = this.#key(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#key(items[parent]!) <= k) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.#items;
    if (items.length === 0) return undefined;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      let i = 0;
      const k = this.#key(last);
      for (;;) {
        const l = 2 * i + 1;
        if (l >= items.length) break;
        const r = l + 1;
        const c = r < items.length && this.#key(items[r]!) < this.#key(items[l]!) ? r : l;
        if (this.#key(items[c]!) >= k) break;
        items[i] = items[c]!;
        i = c;
      }
      items[i] = last;
    }
    return top;
  }
}
