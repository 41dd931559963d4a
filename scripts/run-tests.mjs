#!/usr/bin/env node
// Runs every compiled node:test file under dist/test (Node 20 has no --test globs).
// Usage: node scripts/run-tests.mjs [substring ...]   (only files whose path contains one)
//
// PostgreSQL: when SIGLOAD_TEST_DATABASE_URL is unset, a throwaway server is started for the run
// (dist/src/store/postgres-throwaway.js: initdb into a temp folder, 127.0.0.1, free port) and
// stopped on exit, also when tests fail or the run is interrupted. Missing PostgreSQL binaries
// fail the run with a clear message: no test is skipped for want of a database.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

const root = 'dist/test';
const wanted = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.js') && (wanted.length === 0 || wanted.some((w) => path.includes(w)))) files.push(path);
  }
})(root);
if (files.length === 0) {
  console.error(`no test files found under ${root}${wanted.length ? ' matching ' + wanted.join(', ') : ''}`);
  process.exit(1);
}

const env = { ...process.env };
let throwaway;
if (!env.SIGLOAD_TEST_DATABASE_URL) {
  const { startThrowawayPostgres } = await import('../dist/src/store/postgres-throwaway.js');
  try {
    throwaway = await startThrowawayPostgres();
  } catch (error) {
    console.error(`run-tests: cannot start a throwaway PostgreSQL: ${error.message}`);
    process.exit(1);
  }
  env.SIGLOAD_TEST_DATABASE_URL = throwaway.url;
  console.error(`run-tests: throwaway PostgreSQL at ${throwaway.url}`);
}
const stopDatabase = () => {
  if (throwaway) throwaway.stop();
  throwaway = undefined;
};

// Pass 1: every file with the store the environment names (memory by default).
// Pass 2: the reference server's suite again on the PostgreSQL store (SIGLOAD_TEST_STORE=postgres),
// unless the caller already chose a store. Durability and multi-process suites use PostgreSQL
// themselves, so they run once.
// Timing-sensitive files (the open-model driver's stall-stub test measures latency against a stall
// pattern; the schedule test checks sent timestamps; the capacity search finds a stub's known
// capacity; the cluster test judges merged shards against the stall stub) run last and alone, so the
// rest of the suite does not load the machine under them.
const runsAlone = (path) => /load-open-loop|load-schedule|capacity-search|deploy\/cluster/.test(path);
const passes = [{ label: '', files: files.filter((path) => !runsAlone(path)), env }];
const onBothStores = (path) => path.startsWith(join(root, 'server') + '/') && !/durability|multi-process/.test(path);
if (!process.env.SIGLOAD_TEST_STORE) {
  const serverFiles = files.filter(onBothStores);
  if (serverFiles.length > 0) passes.push({ label: 'server suite on the PostgreSQL store', files: serverFiles, env: { ...env, SIGLOAD_TEST_STORE: 'postgres' } });
}
const aloneFiles = files.filter(runsAlone);
if (aloneFiles.length > 0) passes.push({ label: 'timing-sensitive tests, alone', files: aloneFiles, env, concurrency: '1' });
if (passes[0].files.length === 0) passes.shift();

const concurrency = env.SIGLOAD_TEST_CONCURRENCY ?? '2';
let child;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    child?.kill(signal);
    stopDatabase();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}
// Each pass reports to the terminal as usual and, as TAP, to a file whose totals are summed into
// one closing line for the whole run.
const tapDir = mkdtempSync(join(tmpdir(), 'sigload-tests-'));
const totals = { passed: 0, failed: 0, skipped: 0 };
const addTotals = (tapFile) => {
  let tap = '';
  try {
    tap = readFileSync(tapFile, 'utf8');
  } catch {
    return;
  }
  const count = (name) => Number(tap.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? 0);
  totals.passed += count('pass');
  totals.failed += count('fail') + count('cancelled');
  totals.skipped += count('skipped');
};
const runPass = (pass, index) =>
  new Promise((resolve) => {
    if (pass.label) console.error(`run-tests: ${pass.label} (${pass.files.length} files)`);
    const tapFile = join(tapDir, `pass-${index}.tap`);
    const reporter = process.stdout.isTTY ? 'spec' : 'tap';
    const args = ['--test', `--test-concurrency=${pass.concurrency ?? concurrency}`, `--test-reporter=${reporter}`, '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tapFile}`];
    child = spawn(process.execPath, [...args, ...pass.files], { stdio: 'inherit', env: pass.env });
    child.on('exit', () => addTotals(tapFile));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.on('error', (error) => {
      console.error(`run-tests: ${error.message}`);
      resolve(1);
    });
  });
// A test file whose Node.js process died of a V8 fatal error (a signal, no exit code) is run once
// more, alone: Node 22 and 24 abort now and then in SourceTextModule::AsyncModuleExecutionFulfilled
// (nodejs/node#53238, #60755), whatever the test does. A file that fails again, or any other
// failure, fails the run as before; every re-run is printed.
const CRASH = /^\s*exitCode: ~\s*$[\s\S]*^\s*signal: '(SIGTRAP|SIGABRT|SIGSEGV|SIGBUS|SIGILL)'/m;
const failedFiles = (tapFile) => {
  let tap = '';
  try {
    tap = readFileSync(tapFile, 'utf8');
  } catch {
    return { crashed: [], others: 1 };
  }
  const crashed = [];
  let others = 0;
  for (const m of tap.matchAll(/^not ok \d+ - (.+)\n {2}---\n([\s\S]*?)\n {2}\.\.\./gm)) {
    if (m[1].endsWith('.test.js') && CRASH.test(m[2])) crashed.push(m[1]);
    else others++;
  }
  return { crashed, others };
};
let status = 0;
try {
  for (const [index, pass] of passes.entries()) {
    let code = await runPass(pass, index);
    if (code !== 0) {
      const { crashed, others } = failedFiles(join(tapDir, `pass-${index}.tap`));
      if (crashed.length > 0 && others === 0) {
        console.error(`run-tests: Node.js crashed (V8 fatal error) in ${crashed.join(', ')}; running ${crashed.length === 1 ? 'it' : 'them'} once more, alone`);
        totals.failed -= crashed.length;
        code = await runPass({ label: 'crashed files, once more', files: crashed, env: pass.env, concurrency: '1' }, `${index}-again`);
      }
    }
    if (code !== 0) status = code;
  }
} finally {
  stopDatabase();
  rmSync(tapDir, { recursive: true, force: true });
}
if (status === 0 && totals.failed > 0) status = 1;
console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(status);
