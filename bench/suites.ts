/**
 * The suite registry: `npm run bench` runs these in order.
 * To add a suite: one import line and one entry line (load and pg engineers add theirs here).
 */
import type { Suite } from '../src/harness/suite/suite.js';
import { microSuite } from './micro.js';
import { poolSuite } from './pool.js';
import { retentionSuite } from './retention.js';
import { pgSuite } from './pg/suite.js';
import { loadSuites } from './load/suites.js';
import { instructionsSuite } from './instructions.js';

export const SUITES: readonly Suite[] = [
  microSuite,
  poolSuite,
  retentionSuite,
  pgSuite,
  ...loadSuites,
  instructionsSuite,
];
