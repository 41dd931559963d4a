#!/usr/bin/env node
// Runs every compiled node:test file under dist/test (Node 20 has no --test globs).
// Usage: node scripts/run-tests.mjs [substring ...]   (only files whose path contains one)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

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
const concurrency = process.env.SIGLOAD_TEST_CONCURRENCY ?? '2';
const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
