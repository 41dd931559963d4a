/**
 * CPU time from /proc (Linux; utime and stime are in 100 Hz clock ticks), for the measurement
 * scripts beside the server tests (measure-sends, measure-inbound, measure-send-path).
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 1000 / 100;

/** User and system CPU time (ms) so far of a process (`/proc/<pid>/stat`) or thread (`/proc/<pid>/task/<tid>/stat`). */
export function cpuSplitMs(statPath: string): { userMs: number; systemMs: number } {
  const fields = readFileSync(statPath, 'utf8').split(') ')[1]!.split(' ');
  return { userMs: Number(fields[11]) * TICK_MS, systemMs: Number(fields[12]) * TICK_MS };
}

/** User + system CPU time (ms) so far of the process `pid`. */
export function processCpuMs(pid: number): number {
  const { userMs, systemMs } = cpuSplitMs(`/proc/${pid}/stat`);
  return userMs + systemMs;
}

/** User + system CPU time (ms) so far of each thread of the process `pid`, by thread id. */
export function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const { userMs, systemMs } = cpuSplitMs(`/proc/${pid}/task/${tid}/stat`);
      out.set(tid, userMs + systemMs);
    } catch {
      // the thread ended
    }
  }
  return out;
}
