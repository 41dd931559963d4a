/**
 * Anchors of the load scenarios: a ratio of two figures measured in the same run, built from
 * the medians of their per-repetition samples, carrying the quality of everything it was built
 * from (an anchor of unclean figures must not read as clean).
 */
import type { Anchor } from '../result/result.js';
import { mergeQuality, type Quality } from './generator-guard.js';

export interface LoadAnchorInput {
  id: string;
  /** Median of our samples. */
  ours: number;
  /** Median of the reference's samples (same run). */
  theirs: number;
  unit: string;
  /** The goal the issue set; without one the anchor is reported, never met or missed. */
  goal?: { op: '>=' | '<='; value: number };
  /** Qualities of every figure the ratio uses. */
  inputs: Quality[];
  /** Further reasons the ratio is not clean (e.g. the offered rate was above capacity). */
  notes?: string[];
  /** Extra condition for `met` (e.g. no legitimate message refused). Default true. */
  alsoRequired?: boolean;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export function loadAnchor(input: LoadAnchorInput): Anchor {
  const ratio = input.theirs > 0 ? input.ours / input.theirs : 0;
  const merged = mergeQuality(...input.inputs, { clean: (input.notes ?? []).length === 0, notes: input.notes ?? [] });
  const anchor: Anchor = { id: input.id, ratio: round3(ratio), ours: input.ours, theirs: input.theirs, unit: input.unit, quality: merged };
  if (!input.goal) return anchor;
  const met = (input.goal.op === '>=' ? ratio >= input.goal.value : ratio <= input.goal.value) && (input.alsoRequired ?? true);
  return { ...anchor, goal: input.goal, met };
}
