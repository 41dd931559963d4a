/**
 * CPU time and resident memory of a process or thread from /proc (Linux). `utime` and `stime` in
 * `/proc/<pid>/stat` count clock ticks of 1/100 s (USER_HZ, 100 on every Linux ABI Node supports),
 * so one reading resolves 10 ms of CPU; a per-request figure divides a difference over an interval
 * by the requests of that interval. Other platforms have no /proc: `processCpuAvailable` says so
 * (the readers would throw ENOENT).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 1000 / 100;
/** Bytes per page for `/proc/<pid>/stat`'s rss field (4 KiB on x86-64 and arm64 Linux). */
const PAGE_BYTES = 4096;

/** User and system CPU time (ms) so far of a process or thread. */
export interface CpuSplit {
  userMs: number;
  systemMs: number;
}

/** A process's CPU time so far and its resident set size now. */
export interface ProcessUsage extends CpuSplit {
  rssBytes: number;
}

/** Whether this platform exposes /proc/<pid>/stat for `pid` (default: this process). */
export function processCpuAvailable(pid: number = process.pid): boolean {
  return existsSync(`/proc/${pid}/stat`);
}

/** The fields after the command name of a `stat` file (the name may hold spaces and parentheses). */
function statFields(statPath: string): string[] {
  const text = readFileSync(statPath, 'utf8');
  return text.slice(text.lastIndexOf(') ') + 2).split(' ');
}

/** User and system CPU time (ms) so far of a process (`/proc/<pid>/stat`) or thread (`/proc/<pid>/task/<tid>/stat`). */
export function cpuSplitMs(statPath: string): CpuSplit {
  const fields = statFields(statPath);
  return { userMs: Number(fields[11]) * TICK_MS, systemMs: Number(fields[12]) * TICK_MS };
}

/** User and system CPU time so far and RSS now of the process `pid`, from one read of its stat file. */
export function processUsage(pid: number): ProcessUsage {
  const fields = statFields(`/proc/${pid}/stat`);
  return { userMs: Number(fields[11]) * TICK_MS, systemMs: Number(fields[12]) * TICK_MS, rssBytes: Number(fields[21]) * PAGE_BYTES };
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
