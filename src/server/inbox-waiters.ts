/**
 * Long-poll wake-ups for device inboxes (transport-api.md §1, `GET /transport/v1/inbox?wait_ms`).
 * A poller that found nothing waits here until a ciphertext is appended for its device, its
 * wait_ms runs out (wall time: a long-poll is a property of the connection, not of the server's
 * virtual clock), the connection closes, or the server shuts down.
 */
export class InboxWaiters {
  private readonly waiting = new Map<string, Set<() => void>>();

  /** Resolves true when woken, false on timeout or abort. */
  wait(deviceAddress: string, waitMs: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      let set = this.waiting.get(deviceAddress);
      if (set === undefined) {
        set = new Set();
        this.waiting.set(deviceAddress, set);
      }
      const waiters = set;
      const finish = (woken: boolean): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        waiters.delete(wake);
        if (waiters.size === 0 && this.waiting.get(deviceAddress) === waiters) this.waiting.delete(deviceAddress);
        resolve(woken);
      };
      const wake = (): void => finish(true);
      const onAbort = (): void => finish(false);
      const timer = setTimeout(() => finish(false), waitMs);
      waiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Wakes every poller of the device. */
  notify(deviceAddress: string): void {
    const set = this.waiting.get(deviceAddress);
    if (set === undefined) return;
    for (const wake of [...set]) wake();
  }

  /** Wakes everybody (shutdown). */
  wakeAll(): void {
    for (const set of [...this.waiting.values()]) for (const wake of [...set]) wake();
  }

  /** Pollers waiting on one device. */
  countOf(deviceAddress: string): number {
    return this.waiting.get(deviceAddress)?.size ?? 0;
  }

  get count(): number {
    let n = 0;
    for (const set of this.waiting.values()) n += set.size;
    return n;
  }
}
