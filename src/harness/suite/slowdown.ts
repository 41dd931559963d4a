/**
 * TEST-ONLY slowdown switch, for proving that compare/nightly catch a regression.
 *
 *   SIGLOAD_INJECT_SLOWDOWN=<benchmark-id-substring>:<fraction>     e.g. signal/message:0.10
 *
 * Every benchmark whose id contains the substring spends `fraction` more time per operation:
 * the wrapped operation is timed and then busy-waits `fraction × its own duration` inside the
 * timed region, so the measured time per operation grows by that fraction (and an ops/s figure
 * falls to 1 / (1 + fraction) of its value). Off unless the variable is set; the runner records
 * it in `run.injected_slowdown` and marks every slowed benchmark `quality.clean = false`.
 *
 * Work-based mode (`wrapWork`, `wrapWorkAsync`), for suites that count work rather than time
 * (bench/instructions.ts counts instructions under callgrind, where a time spin means nothing):
 * the wrapped operation runs one extra time on `fraction` of its calls, decided by a
 * deterministic accumulator (after n calls, floor(n × fraction) extra runs), so the work per call
 * grows by `fraction` exactly whenever a measured batch holds a multiple of 1 / fraction calls
 * (10 calls at 0.10), and by `fraction` on average otherwise.
 */
import { KindedError } from '../../kinded-error.js';
export const SLOWDOWN_ENV = 'SIGLOAD_INJECT_SLOWDOWN';

export interface SlowdownSpec {
  pattern: string;
  fraction: number;
}

export class SlowdownSpecError extends KindedError<'bad-slowdown-spec'> {
  constructor(message: string) {
    super('bad-slowdown-spec', message);
  }
}

/** Parses `<substring>:<fraction>`; undefined when unset or empty. */
export function parseSlowdown(value: string | undefined): SlowdownSpec | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const at = value.lastIndexOf(':');
  const pattern = at > 0 ? value.slice(0, at) : '';
  const fraction = at > 0 ? Number(value.slice(at + 1)) : NaN;
  if (pattern === '' || !Number.isFinite(fraction) || fraction <= 0 || fraction > 100) {
    throw new SlowdownSpecError(
      `${SLOWDOWN_ENV}=${JSON.stringify(value)}: expected <benchmark-id-substring>:<fraction>, e.g. signal/message:0.10`,
    );
  }
  return { pattern, fraction };
}

/** Busy-waits until `hrtime.bigint()` reaches `untilNs` (a sleep would leave the timed thread idle). */
export function spinUntil(untilNs: bigint): void {
  while (process.hrtime.bigint() < untilNs) {
    /* spin */
  }
}

/** A slowdown bound to one benchmark id: identity functions when it does not apply. */
export interface Slowdown {
  /** 0 when this benchmark is not slowed. */
  readonly fraction: number;
  /** Wraps a synchronous operation. */
  wrap<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  /** Wraps an asynchronous operation (time measured to settlement). */
  wrapAsync<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R>;
  /** For timed regions the suite brackets itself: call with the region's start (hrtime ns) just before stopping the timer. */
  extend(startNs: bigint): void;
  /** Work-based: the operation runs once more on `fraction` of its calls (each wrapper counts its own calls). */
  wrapWork<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  /** Work-based, asynchronous: the extra run starts after the first has settled. */
  wrapWorkAsync<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R>;
}

const NONE: Slowdown = {
  fraction: 0,
  wrap: (fn) => fn,
  wrapAsync: (fn) => fn,
  extend: () => {},
  wrapWork: (fn) => fn,
  wrapWorkAsync: (fn) => fn,
};

/** Extra runs the current call owes: after n calls, floor(n × fraction) extra runs in all (several per call when fraction > 1). */
function extraRunsDue(fraction: number): () => number {
  let calls = 0;
  let extras = 0;
  return () => {
    calls++;
    // + 1e-9: n × fraction may land just below the integer it stands for (floating point)
    const due = Math.floor(calls * fraction + 1e-9) - extras;
    extras += due;
    return due;
  };
}

export function slowdownFor(benchmarkId: string, spec: SlowdownSpec | undefined): Slowdown {
  if (!spec || !benchmarkId.includes(spec.pattern)) return NONE;
  const f = spec.fraction;
  const extend = (startNs: bigint): void => {
    const elapsed = process.hrtime.bigint() - startNs;
    spinUntil(startNs + elapsed + BigInt(Math.round(Number(elapsed) * f)));
  };
  return {
    fraction: f,
    wrap:
      <A extends unknown[], R>(fn: (...args: A) => R) =>
      (...args: A): R => {
        const start = process.hrtime.bigint();
        const out = fn(...args);
        extend(start);
        return out;
      },
    wrapAsync:
      <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        const start = process.hrtime.bigint();
        const out = await fn(...args);
        extend(start);
        return out;
      },
    extend,
    wrapWork: <A extends unknown[], R>(fn: (...args: A) => R) => {
      const due = extraRunsDue(f);
      return (...args: A): R => {
        const out = fn(...args);
        for (let k = due(); k > 0; k--) fn(...args);
        return out;
      };
    },
    wrapWorkAsync: <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => {
      const due = extraRunsDue(f);
      return async (...args: A): Promise<R> => {
        const out = await fn(...args);
        for (let k = due(); k > 0; k--) await fn(...args);
        return out;
      };
    },
  };
}
