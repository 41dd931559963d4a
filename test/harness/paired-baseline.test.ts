/**
 * BareHandler.beside (src/harness/scenarios/baseline.ts): the bare handler's windows that the
 * server anchors divide by are taken right beside the measured ones, in ABBA order, and each
 * one is a real window of requests answered by the bare child.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BareHandler } from '../../src/harness/scenarios/baseline.js';

test('bare windows go before, after, after, before the measured ones (ABBA), one per repetition', { timeout: 60_000 }, async () => {
  const paired = await BareHandler.start(4);
  try {
    const barePrecededMeasure: boolean[] = [];
    for (let r = 0; r < 4; r++) {
      const before = paired.rates.length;
      const result = await paired.beside(r, 1, async () => {
        barePrecededMeasure.push(paired.rates.length > before);
        return r * 10;
      });
      assert.equal(result, r * 10, 'beside returns what the measurement returned');
      assert.equal(paired.rates.length, before + 1, `one bare window in repetition ${r}`);
    }
    assert.deepEqual(barePrecededMeasure, [true, false, false, true]);
    assert.ok(paired.rates.every((rate) => rate > 0), `every bare window served requests (${paired.rates.join(', ')} req/s)`);
    assert.equal(typeof paired.quality.clean, 'boolean');
    const figure = paired.pairedFigure('load/x', 1);
    assert.equal(figure.id, 'load/x/paired-bare-http');
    assert.deepEqual(figure.samples, paired.rates, 'the figure carries every window');
  } finally {
    await paired.stop();
  }
});
