/**
 * The load-shape flags of `npm run load` (`--stages`, `--shape`, `--start-rate`, `--arrivals`,
 * `--seed`, with `--rate` and `--duration`), turned into a ScheduleSpec (schedule.ts). Without
 * any of them the run keeps the driver's constant rate.
 *
 *   --stages 10s:100,30s:100,5s:400,10s:0 [--start-rate 0]   k6-style stages (ramping arrival rate)
 *   --shape ramp|step|spike|soak|constant --rate R --duration D   a named shape around R (shapeSpec)
 *   --arrivals constant|poisson [--seed n]                    arrival process (default constant, seed 1)
 */
import { parseStages, shapeSpec, ScheduleError, SHAPES, type Arrivals, type ScheduleSpec, type Shape } from './schedule.js';

/** parseArgs option definitions of the shape flags. */
export const SHAPE_FLAG_OPTIONS = {
  stages: { type: 'string' },
  shape: { type: 'string' },
  'start-rate': { type: 'string' },
  arrivals: { type: 'string' },
  seed: { type: 'string' },
} as const;

export const SHAPE_USAGE = `[--stages 10s:100,30s:100,5s:400,10s:0 [--start-rate r] | --shape ${SHAPES.join('|')} --rate r --duration s] [--arrivals constant|poisson [--seed n]]`;

export interface ShapeFlagValues {
  stages?: string;
  shape?: string;
  'start-rate'?: string;
  arrivals?: string;
  seed?: string;
  rate?: string;
  duration?: string;
}

const number = (flag: string, text: string): number => {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new ScheduleError('invalid-stage', `${flag} must be a number, got ${JSON.stringify(text)}`);
  return n;
};

/** The schedule the flags ask for, or undefined when none of them was given (throws ScheduleError on bad input). */
export function scheduleFromFlags(values: ShapeFlagValues): ScheduleSpec | undefined {
  const arrivals = values.arrivals ?? 'constant';
  if (arrivals !== 'constant' && arrivals !== 'poisson') throw new ScheduleError('invalid-shape', `--arrivals must be constant or poisson, got ${JSON.stringify(arrivals)}`);
  if (values.seed !== undefined && arrivals !== 'poisson') throw new ScheduleError('invalid-shape', '--seed applies to --arrivals poisson');
  const arrivalProcess = { arrivals: arrivals as Arrivals, ...(values.seed !== undefined ? { seed: number('--seed', values.seed) } : {}) };
  if (values.stages !== undefined) {
    if (values.shape !== undefined) throw new ScheduleError('invalid-shape', 'give --stages or --shape, not both');
    const startRate = values['start-rate'] === undefined ? 0 : number('--start-rate', values['start-rate']);
    return { startRate, stages: parseStages(values.stages), ...arrivalProcess };
  }
  if (values['start-rate'] !== undefined) throw new ScheduleError('invalid-shape', '--start-rate applies to --stages');
  if (values.shape === undefined && values.arrivals === undefined) return undefined;
  const shape = (values.shape ?? 'constant') as Shape;
  if (!SHAPES.includes(shape)) throw new ScheduleError('invalid-shape', `unknown --shape ${JSON.stringify(values.shape)}; known: ${SHAPES.join(', ')}`);
  if (values.rate === undefined || values.duration === undefined) throw new ScheduleError('invalid-shape', `--shape ${shape} (and --arrivals) need --rate and --duration`);
  return { ...shapeSpec(shape, number('--rate', values.rate), number('--duration', values.duration)), ...arrivalProcess };
}
