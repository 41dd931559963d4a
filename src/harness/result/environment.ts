/**
 * Captures the machine and code a run measured: git commit/branch/dirty, Node and V8, OS, CPU,
 * memory, load average at start, which implementation served each crypto primitive, and the
 * versions of the anchors (libsignal-client).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../../crypto/backend.js';
import { getBackend } from '../../crypto/index.js';
import type { Environment } from './result.js';

/** The repository root (this module runs from dist/src/harness). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return undefined;
  }
}

export function captureGit(): Environment['git'] {
  const commit = git(['rev-parse', 'HEAD']) ?? 'unknown';
  const branch = git(['rev-parse', '--abbrev-ref', 'HEAD']) ?? 'unknown';
  // Untracked files count as dirty too: a new benchmark file changes what is measured.
  const status = git(['status', '--porcelain']);
  return { commit, branch, dirty: status === undefined ? true : status.length > 0 };
}

/** Version of an installed package, read from its package.json under the repo's node_modules. */
export function installedVersion(packageName: string): string | undefined {
  try {
    const text = readFileSync(join(REPO_ROOT, 'node_modules', packageName, 'package.json'), 'utf8');
    return (JSON.parse(text) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** The anchors the suites measure against: libsignal-client 0.103.0, and 0.90.0 under its npm alias. */
export const ANCHOR_PACKAGES = ['@signalapp/libsignal-client', 'libsignal-client-0.90'] as const;

/** providers of each backend (which implementation serves each primitive); a backend that fails to load is left out. */
export function captureCryptoProviders(backends: readonly BackendName[]): Environment['crypto'] {
  const out: Environment['crypto'] = {};
  for (const name of backends) {
    try {
      out[name] = { ...getBackend(name).providers };
    } catch {
      /* a backend that cannot load is reported by the suites that use it */
    }
  }
  return out;
}

export async function captureEnvironment(options: { backends: readonly BackendName[] }): Promise<Environment> {
  const cpus = os.cpus();
  const anchorVersions: Record<string, string> = {};
  for (const name of ANCHOR_PACKAGES) {
    const version = installedVersion(name);
    if (version) anchorVersions[name] = version;
  }
  const load = os.loadavg();
  return {
    git: captureGit(),
    node_version: process.version,
    v8_version: process.versions.v8,
    os: { platform: os.platform(), release: os.release(), arch: os.arch() },
    cpu: { model: cpus[0]?.model.trim() || 'unknown', cores: os.availableParallelism(), speed_mhz: cpus[0]?.speed ?? 0 },
    memory_bytes: os.totalmem(),
    load_average: [load[0] ?? 0, load[1] ?? 0, load[2] ?? 0],
    crypto: captureCryptoProviders(options.backends),
    anchor_versions: anchorVersions,
  };
}
