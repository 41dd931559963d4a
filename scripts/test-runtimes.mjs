#!/usr/bin/env node
// Runs the whole test suite (scripts/run-tests.mjs, on the dist/ that `npm test` built) again on
// other Node.js releases, so "runs on Node 20, 22 and 24" is checked and not assumed.
//
// Usage: npm run test:runtimes [-- <version> ...]     (default: the releases pinned below)
//
// Each release comes from the npm registry as the official binary package node-<os>-<cpu>
// (`npm pack` checks the registry's integrity hash), unpacked once into
// node_modules/.cache/sigload-runtimes/<version>/. Pinned, not "latest": a CI run is repeatable,
// and a new release is a deliberate bump here. Node 24.21.0 is pinned on purpose: it is where a
// raw key costs node:crypto ~10 µs per call (src/crypto/node-key-argument.ts).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const PINNED = ['22.23.3', '24.21.0'];
const versions = process.argv.slice(2).length > 0 ? process.argv.slice(2) : PINNED;
const cacheDir = resolve('node_modules/.cache/sigload-runtimes');
const packageName = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;

if (!existsSync('dist/test')) {
  console.error('test-runtimes: no dist/test; run `npm test` (or `npm run build`) first');
  process.exit(2);
}

/** The node binary of `version`, downloaded and unpacked when not cached. */
function nodeBinary(version) {
  const home = join(cacheDir, version);
  const binary = join(home, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (existsSync(binary)) return binary;
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'sigload-runtime-'));
  try {
    console.error(`test-runtimes: fetching ${packageName}@${version} from the npm registry`);
    const tarball = execFileSync('npm', ['pack', `${packageName}@${version}`, '--pack-destination', work, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop();
    const unpacked = join(work, 'unpacked');
    mkdirSync(unpacked);
    execFileSync('tar', ['xzf', join(work, tarball), '-C', unpacked, '--strip-components=1']);
    rmSync(home, { recursive: true, force: true });
    renameSync(unpacked, home);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!existsSync(binary)) throw new Error(`${packageName}@${version} has no ${binary.slice(home.length + 1)} (found: ${readdirSync(home).join(', ')})`);
  return binary;
}

/** Runs the suite on one binary; resolves to its exit code and the closing totals line. */
function runSuite(binary) {
  return new Promise((done) => {
    const child = spawn(binary, ['scripts/run-tests.mjs'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-400);
    });
    child.on('close', (code, signal) => done({ code: code ?? (signal ? 1 : 0), totals: tail.match(/tests: .*/)?.[0] ?? 'no totals line' }));
  });
}

const summary = [];
let status = 0;
for (const version of versions) {
  let binary;
  try {
    binary = nodeBinary(version);
  } catch (error) {
    console.error(`test-runtimes: cannot get Node ${version}: ${error.message}`);
    summary.push(`Node ${version}: not run (download failed)`);
    status = 1;
    continue;
  }
  console.error(`test-runtimes: the suite on Node ${version}`);
  const { code, totals } = await runSuite(binary);
  summary.push(`Node ${version}: ${totals}${code !== 0 ? ` (exit ${code})` : ''}`);
  if (code !== 0) status = 1;
}
console.log(`\nruntimes (${process.version} is \`npm test\`'s own):\n${summary.map((line) => `  ${line}`).join('\n')}`);
process.exit(status);
