/**
 * Micro suite (tinybench 6): every crypto primitive per backend, the Signal operations per
 * backend, and libsignal-client 0.103.0 (0.90.0 beside) doing the same where it can; anchors
 * `message-vs-libsignal` and `session-setup-vs-libsignal` from the same run.
 */
import { getBackend } from '../src/crypto/index.js';
import { ANCHOR_PACKAGES, installedVersion } from '../src/harness/result/environment.js';
import { cryptoTaskIds, cryptoTasks, LIBSIGNAL_CRYPTO_IDS, libsignalCryptoTasks } from './micro-crypto.js';
import { measureTasks, recordMeasured, type MicroTask } from './micro-measure.js';
import { signalAnchors, signalTaskIds, signalTasks } from './micro-signal.js';
import { recordSpqrFigures, spqrFigureIds } from './micro-spqr.js';
import type { Suite, SuiteContext, SuiteContextStatic } from '../src/harness/suite/suite.js';

const SUITE = 'micro';

function allIds(ctx: SuiteContextStatic): string[] {
  const ids: string[] = [];
  for (const backend of ctx.backends) ids.push(...cryptoTaskIds(backend));
  ids.push(...LIBSIGNAL_CRYPTO_IDS);
  ids.push(...signalTaskIds(ctx.backends));
  ids.push(...spqrFigureIds(ctx.backends));
  return ids;
}

/** Rough cost of one task per repetition, seconds (sample time plus warm-up and slow-op overshoot). */
function perTaskSeconds(ctx: SuiteContextStatic): number {
  // + 20 ms: tinybench's minimum of 2 warm-up and 2 timed calls overshoots the sample time for slow ops (noble PQXDH)
  return (ctx.settings.micro.sampleTimeMs * 1.25 + ctx.settings.micro.warmupTimeMs / 4 + 20) / 1000;
}

export const microSuite: Suite = {
  id: SUITE,
  describe: 'crypto primitives per backend, Signal operations, libsignal-client 0.103.0 (0.90.0 beside) equivalents (tinybench)',
  benchmarkIds: allIds,
  estimateSeconds(ctx) {
    const tasks = allIds(ctx).filter((id) => ctx.wants(id)).length;
    return tasks * ctx.repetitions * perTaskSeconds(ctx) + 1.5;
  },
  async run(ctx: SuiteContext) {
    const groups: { label: string; build: () => Promise<MicroTask[]> | MicroTask[] }[] = [];
    for (const name of ctx.backends) {
      groups.push({ label: `crypto ${name}`, build: () => cryptoTasks(getBackend(name)) });
    }
    groups.push({ label: 'libsignal crypto', build: () => libsignalCryptoTasks() });
    groups.push({ label: 'signal', build: () => signalTasks(ctx.backends) });

    const anchorVersions: Record<string, string> = {};
    for (const name of ANCHOR_PACKAGES) {
      const version = installedVersion(name);
      if (version) anchorVersions[name] = version;
    }
    ctx.note({ anchor_versions: anchorVersions });

    const all: { tasks: MicroTask[]; samples: Map<string, number[]> }[] = [];
    for (const [index, group] of groups.entries()) {
      if (ctx.signal.aborted) break;
      const span: [number, number] = [index / groups.length, (index + 1) / groups.length];
      let tasks: MicroTask[];
      try {
        tasks = (await group.build()).filter((t) => ctx.wants(t.id));
      } catch (err) {
        ctx.check({ id: `micro/${group.label.replace(/ /g, '-')}/setup`, passed: false, detail: `setup threw: ${(err as Error).message}` });
        ctx.log(`${group.label}: setup threw: ${(err as Error).stack ?? String(err)}`);
        continue;
      }
      if (tasks.length === 0) continue;
      const measured = await measureTasks(ctx, tasks, {
        sampleTimeMs: ctx.settings.micro.sampleTimeMs,
        warmupTimeMs: ctx.settings.micro.warmupTimeMs,
        repetitions: ctx.repetitions,
        progressSpan: span,
        label: group.label,
      });
      recordMeasured(ctx, SUITE, tasks, measured);
      all.push({ tasks, samples: new Map(measured.filter((m) => !m.error).map((m) => [m.id, m.samples])) });
    }
    const samples = new Map<string, number[]>();
    for (const group of all) for (const [id, s] of group.samples) samples.set(id, s);
    for (const anchor of signalAnchors(samples)) ctx.anchor(anchor);
    if (!ctx.signal.aborted) await recordSpqrFigures(ctx, SUITE);
  },
};
