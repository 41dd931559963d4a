/**
 * The event loop's side of the session-crypto thread (workers/session-crypto.ts): business sends
 * on established sessions have their Signal encryption and at-rest sealing done on a second core,
 * so the event loop keeps to HTTP, limits and store writes.
 *
 * Batches cross through two shared rings (shared-ring.ts), jobs one way and results the other:
 * writing a record and waking a waiting thread costs less than a MessagePort message, and the
 * thread, after a batch, looks for the next one for a short while (`spinMicros`) before it
 * sleeps, so under load it is seldom woken at all. The event loop learns of results through
 * Atomics.waitAsync. Up to `MAX_IN_FLIGHT` batches are on the thread at once; jobs queued
 * meanwhile go in the next (the first after a pause is flushed by `setImmediate`, after the
 * turn's I/O callbacks), so batches grow with load. A business's keys cross once. The event
 * loop remembers which stored version of each session the thread itself sealed; only for any
 * other version are the stored bytes sent along.
 *
 * A job the thread declines (no current session, nothing cached, any failure) and every job
 * after the thread has stopped resolves to `undefined`: the caller then does the send on the
 * event loop, as it would without the thread. Closing terminates the thread.
 */
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../crypto/backend.js';
import type { LocalIdentity } from '../signal/index.js';
import type { SealedOutbound } from './outbound-encryption.js';
import type { SessionCryptoBusiness, SessionCryptoJob, SessionCryptoWorkerData } from './session-crypto-job.js';
import { sameBytes } from './session-slot.js';
import { decodeReply, encodeBatch } from './session-crypto-wire.js';
import { SharedRing } from './shared-ring.js';

const WORKER_FILE = new URL('../../workers/session-crypto.js', import.meta.url);
/** Bytes in each ring; a batch is cut well below half of it. */
const RING_BYTES = 4 * 1024 * 1024;
/** Jobs in one batch at most (a job is ~0.1–0.7 KiB on the wire), and bytes (estimated) at most. */
const MAX_BATCH_JOBS = 512;
const MAX_BATCH_BYTES = RING_BYTES / 8;
/** Room on the wire for a job's fixed fields and keys besides its plaintext and stored slot. */
const JOB_OVERHEAD_BYTES = 256;

/** How many of the queued jobs go in the next batch: at least one, within both caps. */
function batchLength(jobs: readonly SessionCryptoJob[]): number {
  let bytes = 0;
  let n = 0;
  while (n < jobs.length && n < MAX_BATCH_JOBS) {
    const job = jobs[n]!;
    bytes += JOB_OVERHEAD_BYTES + job.plaintext.length + (job.storedSlot?.length ?? 0);
    if (n > 0 && bytes > MAX_BATCH_BYTES) break;
    n++;
  }
  return n;
}
/** Batches on the thread at once. */
const MAX_IN_FLIGHT = 2;
/** How long the thread looks for the next batch before it sleeps (µs). */
const DEFAULT_SPIN_MICROS = 50;
/** While recently busy, how often the thread looks for a batch without being woken (µs). */
const DEFAULT_POLL_MICROS = 100;

export interface SessionCryptoThreadOptions {
  readonly backend: BackendName;
  /** Decoded session slots the thread keeps (default 10,000, as on the event loop). */
  readonly cachedSlots?: number;
  /** How long the thread keeps looking for the next batch before it sleeps (default 50 µs; 0: sleep at once). */
  readonly spinMicros?: number;
  /** While recently busy, how often the thread looks for a batch unwoken (default 100 µs; 0: always be woken). */
  readonly pollMicros?: number;
}

/** A send for the thread: the session's stored state and the business's keys. */
export interface ThreadSend {
  readonly pnid: string;
  readonly sessionKey: string;
  readonly inboxKey: string;
  readonly stored: { readonly sealed: Uint8Array; readonly version: number };
  readonly dataKey: Uint8Array;
  readonly local: LocalIdentity;
  readonly plaintext: Uint8Array;
}

export class SessionCryptoThread {
  readonly #worker: Worker;
  readonly #limit: number;
  readonly #pending = new Map<number, (result: SealedOutbound | undefined) => void>();
  /**
   * The stored version and bytes of the slot the thread sealed last, by session key (the thread
   * caches that slot). Bytes as well as version: a store may number a re-created row as before.
   */
  readonly #threadSealed = new Map<string, { readonly version: number; readonly sealed: Uint8Array }>();
  /** The keys each business was last sent with. */
  readonly #sentKeys = new Map<string, { dataKey: Uint8Array; local: LocalIdentity }>();
  #businesses: SessionCryptoBusiness[] = [];
  #jobs: SessionCryptoJob[] = [];
  #nextId = 0;
  #stopped = false;
  /** Batches on the thread: at most MAX_IN_FLIGHT; what is queued meanwhile goes in the next. */
  #inFlight = 0;
  readonly #jobRing = new SharedRing(RING_BYTES);
  readonly #resultRing = new SharedRing(RING_BYTES);
  /** An Atomics.waitAsync on the result ring is pending. */
  #listening = false;

  constructor(options: SessionCryptoThreadOptions) {
    this.#limit = options.cachedSlots ?? 10_000;
    const workerData: SessionCryptoWorkerData = {
      backend: options.backend,
      cachedSlots: this.#limit,
      jobs: this.#jobRing.shared,
      results: this.#resultRing.shared,
      spinMicros: options.spinMicros ?? DEFAULT_SPIN_MICROS,
      pollMicros: options.pollMicros ?? DEFAULT_POLL_MICROS,
    };
    this.#worker = new Worker(WORKER_FILE, { workerData });
    this.#worker.unref();
    const stop = (): void => this.#stop();
    this.#worker.once('error', stop);
    this.#worker.once('exit', stop);
  }

  /** Encrypts and seals on the thread; `undefined` means "do it on the event loop". */
  encrypt(send: ThreadSend): Promise<SealedOutbound | undefined> {
    if (this.#stopped) return Promise.resolve(undefined);
    const sent = this.#sentKeys.get(send.pnid);
    if (sent === undefined || sent.dataKey !== send.dataKey || sent.local.identity !== send.local.identity || sent.local.registrationId !== send.local.registrationId) {
      this.#sentKeys.set(send.pnid, { dataKey: send.dataKey, local: send.local });
      this.#businesses.push({
        pnid: send.pnid,
        dataKey: send.dataKey,
        registrationId: send.local.registrationId,
        identityPublicKey: send.local.identity.publicKey,
        identityPrivateKey: send.local.identity.privateKey,
      });
    }
    const id = this.#nextId++;
    const mine = this.#threadSealed.get(send.sessionKey);
    const own = mine !== undefined && mine.version === send.stored.version && sameBytes(mine.sealed, send.stored.sealed);
    this.#threadSealed.delete(send.sessionKey);
    if (this.#jobs.length === 0 && this.#inFlight < MAX_IN_FLIGHT) setImmediate(() => this.#flush());
    this.#jobs.push({ id, pnid: send.pnid, sessionKey: send.sessionKey, inboxKey: send.inboxKey, plaintext: send.plaintext, ...(own ? {} : { storedSlot: send.stored.sealed }) });
    return new Promise((resolve) => this.#pending.set(id, resolve));
  }

  /** The store now holds, at `version`, the slot the thread sealed for `sessionKey`. */
  stored(sessionKey: string, version: number, sealed: Uint8Array): void {
    if (this.#threadSealed.size >= this.#limit) this.#threadSealed.delete(this.#threadSealed.keys().next().value!);
    this.#threadSealed.set(sessionKey, { version, sealed });
  }

  #flush(): void {
    while (this.#inFlight < MAX_IN_FLIGHT && this.#jobs.length > 0) {
      if (this.#stopped) {
        for (const job of this.#jobs) this.#settle(job.id);
        this.#jobs = [];
        return;
      }
      const count = batchLength(this.#jobs);
      const jobs = count === this.#jobs.length ? this.#jobs : this.#jobs.slice(0, count);
      const bytes = new Uint8Array(encodeBatch({ businesses: this.#businesses, jobs }));
      if (bytes.length > this.#jobRing.maxRecordBytes) {
        // One job too large for the ring (not seen with real sizes): the event loop does it.
        this.#jobs = this.#jobs.slice(count);
        for (const job of jobs) this.#settle(job.id);
        continue;
      }
      if (!this.#jobRing.tryWrite(bytes)) break; // no room now (the thread is behind): sent when results come back
      this.#businesses = [];
      this.#jobs = count === this.#jobs.length ? [] : this.#jobs.slice(count);
      // A pending Atomics.waitAsync does not keep the process alive; the worker does, while
      // results are owed.
      if (this.#inFlight++ === 0) this.#worker.ref();
    }
    this.#listen();
  }

  /** Takes every result the thread has written, and waits for more while any batch is out. */
  #listen(): void {
    for (;;) {
      const seen = this.#resultRing.published();
      let reply: ArrayBuffer | undefined;
      while ((reply = this.#resultRing.read()) !== undefined) this.#settleBatch(reply);
      if (this.#inFlight === 0 || this.#listening || this.#stopped) return;
      const published = this.#resultRing.whenPublished(seen);
      if (published === undefined) continue; // written meanwhile
      this.#listening = true;
      void published.then(() => {
        this.#listening = false;
        this.#listen();
      });
      return;
    }
  }

  #settleBatch(reply: ArrayBuffer): void {
    if (--this.#inFlight === 0) this.#worker.unref();
    if (this.#jobs.length > 0) this.#flush();
    for (const result of decodeReply(reply)) {
      const resolve = this.#pending.get(result.id);
      this.#pending.delete(result.id);
      resolve?.(result.outcome === 'sealed' ? { sealedSlot: result.sealedSlot, sealedInbox: result.sealedInbox } : undefined);
    }
  }

  #settle(id: number): void {
    const resolve = this.#pending.get(id);
    this.#pending.delete(id);
    resolve?.(undefined);
  }

  #stop(): void {
    this.#stopped = true;
    for (const id of [...this.#pending.keys()]) this.#settle(id);
  }

  async close(): Promise<void> {
    this.#stop();
    this.#jobRing.close();
    await this.#worker.terminate();
  }
}
