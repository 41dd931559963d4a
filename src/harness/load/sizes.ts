/**
 * Sizes and durations of the load scenarios per profile. Smoke is tiny (every scenario with a
 * capacity phase that only checks it works); the others scale users, devices and durations.
 * Every figure is measured once per repetition, so windows are kept short and the retention
 * backlog (seeded again for every repetition) moderate: the 10^7-row sweeps are the pg suite's.
 * Estimated load-suite wall time (bench/load/suites.ts, capacity phases at their upper bound): smoke ≈ 1.5 min,
 * quick ≈ 1.2 min, ci ≈ 14 min.
 */
import { availableParallelism } from 'node:os';
import type { Profile } from '../result/result.js';
import { PROFILE_SETTINGS } from '../suite/profiles.js';

export interface LoadSizes {
  /** Fixed connections of the closed model (baseline and server alike). */
  connections: number;
  /**
   * Duration of one closed-model repetition (window), s. autocannon ends a timed run on its
   * 1-second sampling tick, so whole seconds are what actually runs.
   */
  closedSeconds: number;
  /** Duration of one open-model repetition (window), s. */
  openSeconds: number;
  /**
   * Independent repetitions (one sample each) of every figure: the profile's count
   * (src/harness/suite/profiles.ts), except quick's 3; the bench suites run the smaller of this
   * and ctx.repetitions. Windows are short so that smoke keeps all its repetitions.
   */
  repetitions: number;
  massMessaging: { users: number; devicesPerUser: number };
  inboundFlood: { devices: number; messagesPerDevice: number };
  spamPattern: { users: number; tier: 'TIER_50' | 'TIER_250'; legitBusinesses: number; customersPerBusiness: number; legitRatePerSecond: number; reportShare: number };
  retention: { users: number; backlog: number; ratePerSecond: number };
  /**
   * Capacity at an SLO (load/capacity-at-slo.ts): repetitions (each its own search, later ones
   * starting around the first's estimate), warm-up and measured seconds per step, the bisection's
   * relative tolerance, and the most steps of the first and of each later search. Bounded:
   * (firstSteps + (repetitions − 1) × laterSteps) steps of at most warmUp + measure + ~2 s each,
   * plus 2 × repetitions windows of warmUp + measure for the 70 %-of-capacity anchors. Smoke
   * runs one search only (its figure then notes fewer samples than the profile's): it checks
   * that the phase works, within smoke's minute.
   */
  capacity: { repetitions: number; warmUpSeconds: number; measureSeconds: number; tolerance: number; firstSteps: number; laterSteps: number };
  /**
   * Whether the bench's load suites run the capacity phase at this profile. Not in quick, the
   * default, which must finish within 5 minutes on 2 cores (the capacity search alone takes
   * about 2 of them); the nightly's ci profile finds capacity, and `npm run load --find-capacity`
   * runs it at any profile.
   */
  benchCapacity: boolean;
  /** Device fleet worker threads: the cores this machine has (never a constant), at most 4 below `full`. */
  fleetWorkers: number;
}

/** Simulated-device worker threads: one per core, capped so small profiles do not flood a big machine. */
const fleetWorkers = (cap: number): number => Math.max(1, Math.min(cap, availableParallelism()));

export const LOAD_SIZES: Readonly<Record<Profile, LoadSizes>> = {
  smoke: {
    connections: 8,
    closedSeconds: 1,
    openSeconds: 1,
    repetitions: PROFILE_SETTINGS.smoke.repetitions,
    massMessaging: { users: 9, devicesPerUser: 2 },
    inboundFlood: { devices: 6, messagesPerDevice: 20 },
    spamPattern: { users: 70, tier: 'TIER_50', legitBusinesses: 2, customersPerBusiness: 3, legitRatePerSecond: 40, reportShare: 0.2 },
    retention: { users: 4, backlog: 400, ratePerSecond: 60 },
    capacity: { repetitions: 1, warmUpSeconds: 0.25, measureSeconds: 0.75, tolerance: 0.5, firstSteps: 6, laterSteps: 2 },
    benchCapacity: true,
    fleetWorkers: fleetWorkers(4),
  },
  quick: {
    connections: 16,
    closedSeconds: 1,
    openSeconds: 1,
    // fewer than the profile's 5: at n = 3 a wall-time row is shown, never judged, and the
    // nightly's ci profile (10) judges the load figures; quick must finish within 5 minutes
    repetitions: 3,
    massMessaging: { users: 50, devicesPerUser: 2 },
    inboundFlood: { devices: 50, messagesPerDevice: 40 },
    spamPattern: { users: 150, tier: 'TIER_50', legitBusinesses: 3, customersPerBusiness: 10, legitRatePerSecond: 100, reportShare: 0.2 },
    retention: { users: 20, backlog: 1_000, ratePerSecond: 150 },
    capacity: { repetitions: 3, warmUpSeconds: 0.5, measureSeconds: 2, tolerance: 0.1, firstSteps: 8, laterSteps: 4 },
    benchCapacity: false,
    fleetWorkers: fleetWorkers(4),
  },
  ci: {
    connections: 32,
    closedSeconds: 2,
    openSeconds: 3,
    repetitions: PROFILE_SETTINGS.ci.repetitions,
    massMessaging: { users: 200, devicesPerUser: 2 },
    inboundFlood: { devices: 200, messagesPerDevice: 50 },
    spamPattern: { users: 300, tier: 'TIER_250', legitBusinesses: 4, customersPerBusiness: 25, legitRatePerSecond: 150, reportShare: 0.2 },
    retention: { users: 50, backlog: 3_000, ratePerSecond: 200 },
    capacity: { repetitions: 5, warmUpSeconds: 1, measureSeconds: 2.5, tolerance: 0.05, firstSteps: 10, laterSteps: 5 },
    benchCapacity: true,
    fleetWorkers: fleetWorkers(4),
  },
  full: {
    connections: 64,
    closedSeconds: 5,
    openSeconds: 10,
    repetitions: PROFILE_SETTINGS.full.repetitions,
    massMessaging: { users: 1_000, devicesPerUser: 3 },
    inboundFlood: { devices: 1_000, messagesPerDevice: 50 },
    spamPattern: { users: 1_000, tier: 'TIER_250', legitBusinesses: 8, customersPerBusiness: 50, legitRatePerSecond: 200, reportShare: 0.2 },
    retention: { users: 100, backlog: 20_000, ratePerSecond: 300 },
    capacity: { repetitions: 10, warmUpSeconds: 1, measureSeconds: 3, tolerance: 0.05, firstSteps: 12, laterSteps: 6 },
    benchCapacity: true,
    fleetWorkers: fleetWorkers(Infinity),
  },
};
