/**
 * The call scenarios of test/scenarios on the ARI simulator — the same definitions the e2e tier
 * runs on a real Asterisk 22. The simulator runs in real time with asterisk/extensions-e2e.conf,
 * the prompts of sounds/ (their WAV lengths) and a real Redis.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import { startAriSimulator, type AriSimulator } from '../../tools/ari-sim/index.js';
import { startScenarioEnv, type ScenarioEnv } from '../scenarios/env.js';
import { callScenarios } from '../scenarios/scenarios.js';

describe('call scenarios on the simulator', { timeout: 60_000 }, () => {
  let sim: AriSimulator;
  let env: ScenarioEnv;

  beforeAll(async () => {
    sim = await startAriSimulator({
      dialplan: readFileSync(new URL('../../asterisk/extensions-e2e.conf', import.meta.url), 'utf8'),
    });
    env = await startScenarioEnv({
      kind: 'ari',
      url: sim.url,
      username: 'ari',
      password: 'ari',
      redisUrl: inject('redisUrl'),
      flavour: 'simulator',
      source: 'in-process ARI simulator',
      close: async () => {},
    });
  });

  afterAll(async () => {
    await env?.close();
    await sim?.close();
  });

  callScenarios(() => env);
});
