/**
 * Admission control (src/calls/overload/admission.ts): beyond its set-up capacity the controller refuses
 * a new call at once with cause 34 instead of queueing it, counts it, and admits again once a
 * set-up is over. No timing: the set-up in flight is held on purpose (its number lookup waits).
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admission, timedAri } from '../../../src/calls/overload/admission.js';
import { createAriClient, type AriClient } from '../../../src/ari/index.js';
import { startCallController, type CallController } from '../../../src/calls/controller.js';
import type { PbxStore } from '../../../src/store/index.js';
import { startWorld, until, type World, type WorkplaceView } from '../../support/world.js';

const logger = pino({ level: 'silent' });

describe('Admission', () => {
  it('admits up to the set-up limit, refuses beyond it, admits again when a set-up is over', () => {
    const admission = new Admission({ maxSetups: 2, maxRestLatencyMs: 0, maxEventLoopDelayMs: 0 }, logger);
    expect(admission.tryAdmit()).toBeUndefined();
    expect(admission.tryAdmit()).toBeUndefined();
    expect(admission.tryAdmit()).toBe('setups');
    admission.done();
    expect(admission.tryAdmit()).toBeUndefined();
    expect(admission.stats()).toMatchObject({
      admitted: 3,
      refused: 1,
      setupsInFlight: 2,
      refusedBy: { setups: 1 },
    });
    admission.stop();
  });

  it("the gate's window counts the trunk calls apart: devices' calls never meet the dialplan gate", () => {
    const admission = new Admission({ maxSetups: 0, maxRestLatencyMs: 0, maxEventLoopDelayMs: 0 }, logger);
    admission.tryAdmit(true);
    admission.tryAdmit(false);
    admission.tryAdmit();
    expect(admission.takeWindow()).toMatchObject({ reached: 3, fromTrunk: 2, refused: 0 });
    expect(admission.takeWindow()).toMatchObject({ reached: 0, fromTrunk: 0 });
    admission.stop();
  });

  it("holds the trunk calls that passed the dialplan gate to its limit: a clump beyond the bucket is refused as a flood, devices' calls never", () => {
    const admission = new Admission({ maxSetups: 0, maxRestLatencyMs: 0, maxEventLoopDelayMs: 0 }, logger);
    // 1 call/s: no token comes back while the test runs
    admission.limitTrunk(1, 3);
    expect([1, 2, 3].map(() => admission.tryAdmit(true))).toEqual([undefined, undefined, undefined]);
    expect(admission.tryAdmit(true)).toBe('flood');
    expect(admission.tryAdmit(false)).toBeUndefined();
    const w = admission.takeWindow();
    // (a flood is no sign of slowness: it is not among the refusals the gate reads as overload)
    expect(w).toMatchObject({ reached: 5, fromTrunk: 4, refused: 0, refusedFlood: 1 });
    expect(admission.stats().refusedBy.flood).toBe(1);
    // the gate off: no limit
    admission.limitTrunk(0, 0);
    expect(admission.tryAdmit(true)).toBeUndefined();
    admission.stop();
  });

  it("the gate's window tells how long the oldest set-up in flight has been going, and over what span the trunk calls came", () => {
    const admission = new Admission({ maxSetups: 0, maxRestLatencyMs: 0, maxEventLoopDelayMs: 0 }, logger);
    const now = performance.now();
    admission.tryAdmit(true, now - 500);
    admission.tryAdmit(true, now - 100);
    admission.tryAdmit(false, now - 300);
    const first = admission.takeWindow();
    // (the clock moved on a little since `now`)
    expect(first.oldestInFlightMs).toBeGreaterThanOrEqual(500);
    expect(first.oldestInFlightMs).toBeLessThan(600);
    expect(first.trunkSpanMs).toBeGreaterThanOrEqual(0);
    expect(first.trunkSpanMs).toBeLessThan(100);
    // the oldest one's set-up is over: the next oldest counts
    admission.done(500, now - 500);
    const second = admission.takeWindow();
    expect(second.oldestInFlightMs).toBeGreaterThanOrEqual(300);
    expect(second.oldestInFlightMs).toBeLessThan(400);
    expect(second.trunkSpanMs).toBe(0);
    admission.done(300, now - 300);
    admission.done(100, now - 100);
    expect(admission.takeWindow().oldestInFlightMs).toBe(0);
    admission.stop();
  });

  it("times the call path's REST requests when admission or the dialplan gate reads the latency, else not at all", async () => {
    const slowAri = {
      channels: { get: () => new Promise((r) => setTimeout(r, 30)) },
      events: { route: () => () => {} },
    } as never;
    const off = new Admission({ maxSetups: 0, maxRestLatencyMs: 0, maxEventLoopDelayMs: 0 }, logger);
    expect(timedAri(slowAri, off)).toBe(slowAri);
    const forTheGate = timedAri(slowAri, off, true);
    await (forTheGate as unknown as { channels: { get(): Promise<void> } }).channels.get();
    await new Promise((r) => setImmediate(r));
    expect(off.takeWindow().restLatencyMs).toBeGreaterThan(0);
    off.stop();
  });

  it('refuses while ARI answers slower than the limit, and admits again when it recovers', () => {
    const admission = new Admission({ maxSetups: 0, maxRestLatencyMs: 100, maxEventLoopDelayMs: 0 }, logger);
    for (let i = 0; i < 200; i++) admission.observeRest(1000);
    expect(admission.tryAdmit()).toBe('rest-latency');
    for (let i = 0; i < 200; i++) admission.observeRest(2);
    expect(admission.tryAdmit()).toBeUndefined();
    expect(admission.stats().refusedBy['rest-latency']).toBe(1);
    admission.stop();
  });
});

describe('a controller at its set-up capacity', () => {
  let world: World;
  let wp: WorkplaceView;
  let ari: AriClient;
  let controller: CallController;
  let openGate: () => void = () => {};

  beforeAll(async () => {
    world = await startWorld({ logLevel: process.env.CALLS_LOG ?? 'silent' });
    const { company, admin } = await world.createCompany();
    const groupId = (await world.createGroup(company.id, admin)).id;
    wp = await world.createWorkplace(company.id, admin, { groupId, number: '+4930123477' });
    // this test's controller replaces the world's: its number lookups wait at a gate
    await world.ari.close();
    const gate = new Promise<void>((r) => (openGate = r));
    const store = new Proxy(world.store, {
      get(target, prop, receiver) {
        if (prop === 'lookupNumber')
          return async (n: string) => {
            await gate;
            return target.lookupNumber(n);
          };
        return Reflect.get(target, prop, receiver) as unknown;
      },
    }) as PbxStore;
    ari = createAriClient({
      url: world.config.ARI_URL,
      username: 'ari',
      password: 'ari',
      app: world.config.ARI_APP,
      logger,
    });
    controller = await startCallController({
      ari,
      store,
      config: world.config,
      logger,
      admission: { maxSetups: 1, maxRestLatencyMs: 0, maxEventLoopDelayMs: 0 },
    });
    await ari.connect();
  });

  afterAll(async () => {
    await controller?.stop();
    await ari?.close();
    await world?.close();
  });

  it('refuses the call beyond it at once with cause 34, counts it, and takes calls again afterwards', async () => {
    const desk = world.deviceEndpoint(wp.devices[0]!.sipUsername);
    world.driver.setEndpointBehaviour(desk, { kind: 'answer', afterMs: 10 });
    const first = await world.driver.placeCall({ from: '+4989111555', to: wp.number });
    await until(() => controller.admission().setupsInFlight === 1, 'the first set-up in flight');

    const refused = await world.driver.placeCall({ from: '+4989111556', to: wp.number });
    expect(await refused.waitForHangup()).toBe(34);
    expect(controller.admission()).toMatchObject({ refused: 1, refusedBy: { setups: 1 } });
    expect(refused.heard()).toEqual([]);

    openGate();
    await until(() => first.bridgedWith().length === 1, 'the first call connected');
    await until(() => controller.admission().setupsInFlight === 0, 'its set-up over');
    const later = await world.driver.placeCall({ from: '+4989111557', to: wp.number });
    await until(() => later.bridgedWith().length === 1, 'a later call connected');
    expect(controller.admission()).toMatchObject({ admitted: 2, refused: 1 });
    await first.hangup();
    await later.hangup();
  });

  it('a call that needs Redis while it does not answer ends with cause 41 instead of waiting in silence', async () => {
    await controller.stop();
    await ari.close();
    const store = new Proxy(world.store, {
      get(target, prop, receiver) {
        if (prop === 'lookupNumber') return () => new Promise(() => {}); // Redis away: never answers
        return Reflect.get(target, prop, receiver) as unknown;
      },
    }) as PbxStore;
    ari = createAriClient({
      url: world.config.ARI_URL,
      username: 'ari',
      password: 'ari',
      app: world.config.ARI_APP,
      logger,
    });
    controller = await startCallController({
      ari,
      store,
      config: { ...world.config, CALL_STORE_TIMEOUT_MS: 100 },
      logger,
    });
    await ari.connect();
    const caller = await world.driver.placeCall({ from: '+4989111558', to: wp.number });
    expect(await caller.waitForHangup()).toBe(41);
  });
});
