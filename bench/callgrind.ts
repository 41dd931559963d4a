/**
 * Counting instructions with valgrind's callgrind (CodSpeed's way of measuring on noisy
 * machines, harness-anchors §1.1): the process runs on valgrind's synthetic CPU, which counts
 * every guest instruction executed (JavaScript compiled by V8, V8 and node in C++, OpenSSL,
 * WebAssembly); machine load does not change the count. Instructions executed by the kernel
 * for system calls are not counted.
 *
 * Windows: callgrind runs with `--dump-before=<marker>`, so each call of the marker writes a
 * dump file holding the instructions executed since the previous dump, and zeroes the counters.
 * A window is the code between two marker calls (`CallgrindWindows.count`); it may await, so
 * asynchronous work (event-loop turns, microtasks) inside it is counted too. The marker is
 * V8's embedded builtin `Array.prototype.findLast`, which nothing else in sigload calls; it is
 * called on an array-like object, never on an array, so optimised code cannot inline it away.
 *
 * Dump files: `--callgrind-out-file=<dir>/cg.%p` makes `<dir>/cg.<pid>.<part>` per dump; each
 * holds `events:` (Ir only, the default), `summary:` in the header and `totals:` at the end.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KindedError } from '../src/kinded-error.js';

/** The embedded builtin whose entry ends a window: `Array.prototype.findLast`. */
export const WINDOW_MARKER_SYMBOL = 'Builtins_ArrayPrototypeFindLast';

export type CallgrindErrorKind = 'not-a-dump' | 'no-totals' | 'bad-count' | 'missing-dump' | 'control-failed';

export class CallgrindError extends KindedError<CallgrindErrorKind> {}

export interface CallgrindDump {
  /** Dump number within the process (`part:`), when present. */
  part?: number;
  /** Event names in column order (`events:`), e.g. ['Ir']. */
  events: string[];
  /** Whole-dump totals per event (`summary:` in the header, else `totals:` at the end). */
  totals: Record<string, number>;
}

/**
 * Reads the header (and if needed the `totals:` line) of a callgrind dump. Checks that the
 * text is a callgrind dump and that every count is a non-negative integer.
 */
export function parseCallgrindDump(text: string): CallgrindDump {
  const lines = text.split('\n');
  const first = lines.find((l) => l.trim() !== '');
  if (first === undefined || !(first.startsWith('# callgrind format') || first.startsWith('version:'))) {
    throw new CallgrindError('not-a-dump', 'not a callgrind dump (no "# callgrind format" or "version:" header)');
  }
  let events: string[] = ['Ir']; // the format's default when `events:` is absent
  let part: number | undefined;
  let counts: string | undefined;
  for (const line of lines) {
    if (line.startsWith('events:')) events = line.slice(7).trim().split(/\s+/);
    else if (line.startsWith('part:')) part = Number(line.slice(5).trim());
    else if (line.startsWith('summary:')) counts = line.slice(8);
    else if (line.startsWith('totals:') && counts === undefined) counts = line.slice(7);
  }
  if (counts === undefined) throw new CallgrindError('no-totals', 'callgrind dump has neither a summary: nor a totals: line');
  const values = counts.trim().split(/\s+/);
  const totals: Record<string, number> = {};
  events.forEach((event, i) => {
    const raw = values[i] ?? '0'; // trailing zero columns may be omitted
    if (!/^\d+$/.test(raw)) throw new CallgrindError('bad-count', `callgrind dump: ${event} count ${JSON.stringify(raw)} is not a non-negative integer`);
    totals[event] = Number(raw);
  });
  return { ...(part !== undefined && Number.isInteger(part) ? { part } : {}), events, totals };
}

/** Instructions (Ir) in one dump file; reads the header only unless the summary is missing. */
export function readDumpInstructions(path: string): number {
  const fd = openSync(path, 'r');
  let head: string;
  try {
    const buffer = Buffer.alloc(16 * 1024);
    head = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
  const text = /^summary:/m.test(head) ? head : readFileSync(path, 'utf8');
  const ir = parseCallgrindDump(text).totals['Ir'];
  if (ir === undefined) throw new CallgrindError('no-totals', `${path}: no Ir count`);
  return ir;
}

/** `valgrind --version` (e.g. "valgrind-3.19.0"), or undefined when valgrind is not installed. */
export function valgrindVersion(): string | undefined {
  const probe = spawnSync('valgrind', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

/** Valgrind arguments that count instructions and dump at every window marker into `outDir`. */
export function callgrindArgs(outDir: string): string[] {
  return [
    '--tool=callgrind',
    '--quiet',
    // start uninstrumented (valgrind's core only, several times faster): node's start, module
    // loading, set-up and warm-up run at that speed; CallgrindWindows.instrument switches it on
    '--instr-atstart=no',
    `--dump-before=${WINDOW_MARKER_SYMBOL}`,
    '--dump-line=no',
    `--callgrind-out-file=${join(outDir, 'cg.%p')}`,
  ];
}

/** An array-like receiver: optimised code only inlines findLast for real arrays. */
const MARKER_RECEIVER: ArrayLike<number> = { length: 1, 0: 0 };
const never = (): boolean => false;

function markWindowEdge(): void {
  Array.prototype.findLast.call(MARKER_RECEIVER, never);
}

/**
 * The counting side, inside the process valgrind runs: switches instrumentation on and off
 * (through `callgrind_control`, valgrind's gdbserver), brackets work with marker calls, and
 * reads (then deletes) the dump each window produced.
 */
export class CallgrindWindows {
  readonly #outDir: string;
  readonly #prefix: string;
  #part = 0;
  #on = false;

  /** `outDir` as given to callgrindArgs. */
  constructor(outDir: string) {
    this.#outDir = outDir;
    this.#prefix = `cg.${process.pid}.`;
  }

  /**
   * Instrumentation on (windows can be counted) or off (runs several times faster). Turning it
   * on waits until a marker call produces a dump, so the first window is complete.
   */
  async instrument(on: boolean, timeoutMs = 60_000): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const control = spawn('callgrind_control', ['--instr=' + (on ? 'on' : 'off'), String(process.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      control.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      control.on('error', (err) => reject(new CallgrindError('control-failed', `callgrind_control: ${err.message}`)));
      control.on('close', (code) => (code === 0 ? resolve() : reject(new CallgrindError('control-failed', `callgrind_control --instr=${on ? 'on' : 'off'} exited ${code}: ${stderr.trim()}`))));
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      markWindowEdge();
      const parts = this.#parts();
      if (!on || parts.length > 0) {
        this.#part = Math.max(this.#part, ...parts);
        for (const p of parts) rmSync(this.#path(p), { force: true });
        this.#on = on;
        return;
      }
      if (Date.now() > deadline) throw new CallgrindError('missing-dump', `no callgrind dump in ${this.#outDir} ${timeoutMs} ms after instrumentation on: is this process running under valgrind ${callgrindArgs(this.#outDir).join(' ')}?`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Instructions executed by `work` (and whatever the event loop ran while it was awaited). */
  async count(work: () => unknown): Promise<number> {
    if (!this.#on) throw new CallgrindError('control-failed', 'count() with instrumentation off: call instrument(true) first');
    // Nothing but `work` between the two markers: the dumps are read and deleted afterwards.
    markWindowEdge();
    const pending = work();
    if (pending instanceof Promise) await pending;
    markWindowEdge();
    const before = this.#path(++this.#part); // everything since the previous window
    const window = this.#path(++this.#part);
    try {
      rmSync(before);
      return readDumpInstructions(window);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new CallgrindError('missing-dump', `expected callgrind dumps ${before} and ${window} after two window markers; not written`);
      }
      throw err;
    } finally {
      rmSync(window, { force: true });
    }
  }

  #parts(): number[] {
    return readdirSync(this.#outDir)
      .filter((f) => f.startsWith(this.#prefix))
      .map((f) => Number(f.slice(this.#prefix.length)))
      .filter(Number.isInteger);
  }

  #path(part: number): string {
    return join(this.#outDir, `${this.#prefix}${part}`);
  }
}
