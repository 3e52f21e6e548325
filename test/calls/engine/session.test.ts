/**
 * CallSession verbs against the ARI simulator with the real ARI client (no store involved):
 * type-ahead, digit collection, first-answer-wins, confirmation, hangup → CallEnded, record.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAriClient, type AriClient } from '../../../src/ari/index.js';
import { promptMedia } from '../../../src/calls/engine/prompts.js';
import {
  CallEnded,
  CallSession,
  type CallerChannel,
  type DialResult,
} from '../../../src/calls/engine/session.js';
import { resolveTiming } from '../../../src/calls/engine/timing.js';
import { startAriSimulator, type AriSimulator } from '../../../tools/ari-sim/index.js';

let sim: AriSimulator;
let ari: AriClient;
const logger = pino({ level: 'silent' });
const timing = resolveTiming({
  confirmationMs: 300,
  menuTimeoutMs: 300,
  firstDigitTimeoutMs: 300,
  interDigitTimeoutMs: 300,
});
/** each test says what to do with the next inbound call */
let nextFlow: ((s: CallSession) => Promise<unknown>) | undefined;
let flowResult: Promise<unknown> = Promise.resolve();

beforeAll(async () => {
  sim = await startAriSimulator({ timeScale: 0.02, mediaDurationMs: () => 400 });
  ari = createAriClient({ url: sim.url, username: 'ari', password: 'ari', app: 'pbx', logger });
  ari.events.on('StasisStart', (event) => {
    const e = event as unknown as { args: string[]; channel: CallerChannel };
    if (e.args[0] !== 'inbound' || !nextFlow) return;
    const flow = nextFlow;
    nextFlow = undefined;
    const session = new CallSession(e.channel, { ari, logger, timing });
    flowResult = flow(session).then(
      async (v) => {
        await session.close();
        return v;
      },
      async (err: unknown) => {
        await session.close();
        return err;
      },
    );
  });
  await ari.connect();
});

afterAll(async () => {
  await ari?.close();
  await sim?.close();
});

/** polls a condition of the simulated world (no timing assumptions: up to 5 s) */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function call<T>(flow: (s: CallSession) => Promise<T>, to = '+4930123456') {
  nextFlow = flow;
  const caller = await sim.driver.placeCall({ from: '+4989111222', to });
  // the handler runs on StasisStart; wait for it to pick the flow up
  while (nextFlow) await new Promise((r) => setTimeout(r, 2));
  return { caller, result: () => flowResult as Promise<T | Error> };
}

describe('CallSession media and digits', () => {
  it('a digit pressed during a prompt stops it and counts as the first digit', async () => {
    const { caller, result } = await call(async (s) => {
      await s.answer();
      return s.collectDigits({
        max: 4,
        firstDigitTimeoutMs: 2000,
        interDigitTimeoutMs: 2000,
        prompt: { media: [promptMedia('enter-pin'), promptMedia('goodbye')], lang: 'de' },
      });
    });
    await caller.waitForPlayback('sound:pbx/enter-pin');
    await caller.pressDigits('47#');
    expect(await result()).toBe('47');
    // the second prompt was never started: the first digit stopped the prompt
    expect(caller.heard()).toEqual(['sound:pbx/enter-pin']);
  });

  it('digits typed before a prompt skip it (type-ahead)', async () => {
    const { caller, result } = await call(async (s) => {
      await s.answer();
      await s.sleep(150);
      return s.collectDigits({
        max: 3,
        firstDigitTimeoutMs: 2000,
        interDigitTimeoutMs: 2000,
        prompt: { media: [promptMedia('portal-welcome')] },
      });
    });
    await caller.waitForState('Up');
    await caller.pressDigits('*11');
    expect(await result()).toBe('*11');
    expect(caller.heard()).toEqual([]);
  });

  it('collectDigits returns what it has at the inter-digit timeout', async () => {
    const { caller, result } = await call(async (s) => {
      await s.answer();
      return s.collectDigits({ max: 8, firstDigitTimeoutMs: 2000, interDigitTimeoutMs: 200 });
    });
    await caller.waitForState('Up');
    await caller.pressDigits('12');
    expect(await result()).toBe('12');
  });

  it('the caller hanging up rejects the pending await with CallEnded', async () => {
    const { caller, result } = await call(async (s) => {
      await s.answer();
      return s.collectDigits({ max: 4, firstDigitTimeoutMs: 10_000, interDigitTimeoutMs: 10_000 });
    });
    await caller.waitForState('Up');
    await caller.hangup();
    const err = await result();
    expect(err).toBeInstanceOf(CallEnded);
  });
});

describe('CallSession dialLegs', () => {
  it('first answer wins; the other legs are stopped as answered elsewhere (26)', async () => {
    sim.driver.setEndpointBehaviour('PJSIP/win-a', { kind: 'answer', afterMs: 200 });
    sim.driver.setEndpointBehaviour('PJSIP/win-b', { kind: 'manual' });
    sim.driver.setEndpointBehaviour('PJSIP/win-c', { kind: 'manual' });
    const { caller, result } = await call(async (s) => {
      await s.ringback();
      const r = await s.dialLegs(
        [{ endpoint: 'PJSIP/win-a' }, { endpoint: 'PJSIP/win-b' }, { endpoint: 'PJSIP/win-c' }],
        {
          timeoutSeconds: 20,
        },
      );
      if (r.kind !== 'answered') return r;
      await s.bridgeWith(r.leg.channelId);
      await r.leg.ended;
      return r;
    });
    const b = await sim.driver.waitForChannel('PJSIP/win-b');
    const c = await sim.driver.waitForChannel('PJSIP/win-c');
    expect(await b.waitForHangup()).toBe(26);
    expect(await c.waitForHangup()).toBe(26);
    const a = sim.driver.channels().find((ch) => ch.endpoint === 'PJSIP/win-a')!;
    expect(a.callerNumber()).toBe('+4989111222');
    await until(() => caller.bridgedWith().length > 0, 'the bridge');
    expect(caller.bridgedWith()).toEqual([a.id]);
    await a.hangup();
    const r = (await result()) as DialResult;
    expect(r.kind).toBe('answered');
    expect(await caller.waitForHangup()).toBe(16);
  });

  it('all legs busy → busy; busy + unreachable → busy; all unreachable → unreachable', async () => {
    sim.driver.setEndpointBehaviour('PJSIP/busy-1', { kind: 'busy', afterMs: 50 });
    sim.driver.setEndpointBehaviour('PJSIP/gone-1', { kind: 'unreachable', afterMs: 50 });
    sim.driver.setEndpointBehaviour('PJSIP/broken-1', { kind: 'allocation-failure' });
    const outcomes: string[] = [];
    for (const endpoints of [
      ['PJSIP/busy-1'],
      ['PJSIP/busy-1', 'PJSIP/gone-1'],
      ['PJSIP/gone-1', 'PJSIP/broken-1'],
    ]) {
      const { result } = await call(async (s) =>
        s.dialLegs(
          endpoints.map((endpoint) => ({ endpoint })),
          { timeoutSeconds: 20 },
        ),
      );
      outcomes.push(((await result()) as DialResult).kind);
    }
    expect(outcomes).toEqual(['busy', 'busy', 'unreachable']);
  });

  it('no answer within the ring time → noanswer (cause 19 from the dial timeout)', async () => {
    sim.driver.setEndpointBehaviour('PJSIP/slow-1', { kind: 'noanswer' });
    const { result } = await call(async (s) =>
      s.dialLegs([{ endpoint: 'PJSIP/slow-1' }], { timeoutSeconds: 5 }),
    );
    expect(await result()).toMatchObject({ kind: 'noanswer', causes: [19] });
  });

  it('a confirming leg wins only after pressing 1; one that does not confirm is dropped', async () => {
    sim.driver.setEndpointBehaviour('PJSIP/+491701111111@trunk', { kind: 'answer', afterMs: 20 });
    sim.driver.setEndpointBehaviour('PJSIP/+491702222222@trunk', { kind: 'manual' });
    const { caller, result } = await call(async (s) => {
      const r = await s.dialLegs(
        [
          { endpoint: 'PJSIP/+491701111111@trunk', confirm: true },
          { endpoint: 'PJSIP/+491702222222@trunk', confirm: true },
        ],
        { timeoutSeconds: 20 },
      );
      if (r.kind === 'answered') {
        await s.bridgeWith(r.leg.channelId);
        await r.leg.ended;
      }
      return r;
    });
    const mailbox = await sim.driver.waitForChannel('PJSIP/+491701111111@trunk');
    const mobile = await sim.driver.waitForChannel('PJSIP/+491702222222@trunk');
    // the first leg answers (its own mailbox) but never presses 1: dropped after the timeout
    expect(await mailbox.waitForHangup()).toBe(16);
    expect(mailbox.heard()).toContain('sound:pbx/confirm-call');
    await mobile.answer();
    await mobile.waitForPlayback('sound:pbx/confirm-call');
    await mobile.pressDigits('1');
    await until(() => caller.bridgedWith().length > 0, 'the bridge');
    expect(caller.bridgedWith()).toEqual([mobile.id]);
    await mobile.hangup();
    const r = (await result()) as DialResult;
    expect(r.kind).toBe('answered');
    expect(await caller.waitForHangup()).toBe(16);
  });

  it('the caller hanging up while legs ring stops every leg', async () => {
    sim.driver.setEndpointBehaviour('PJSIP/ring-x', { kind: 'manual' });
    const { caller, result } = await call(async (s) =>
      s.dialLegs([{ endpoint: 'PJSIP/ring-x' }], { timeoutSeconds: 20 }),
    );
    const leg = await sim.driver.waitForChannel('PJSIP/ring-x');
    await leg.waitForState('Ringing');
    await caller.hangup();
    expect(await result()).toBeInstanceOf(CallEnded);
    await leg.waitForHangup();
    expect(leg.isAlive()).toBe(false);
  });
});

describe('CallSession record', () => {
  it('keeps the recording when the caller hangs up mid-recording', async () => {
    const { caller, result } = await call(async (s) => {
      await s.answer();
      return s.record({
        name: 'test-hangup-rec',
        maxSeconds: 180,
        maxSilenceSeconds: 5,
        terminateOn: '#',
        beep: false,
      });
    });
    await caller.waitForState('Up');
    await caller.speak(500);
    await caller.hangup();
    expect(await result()).toMatchObject({ name: 'test-hangup-rec', callerHungUp: true, ok: true });
    expect(sim.driver.storedRecordings().map((r) => r.name)).toContain('test-hangup-rec');
  });

  it('# ends the recording and does not leak into the next menu', async () => {
    const { caller, result } = await call(async (s) => {
      await s.answer();
      const rec = await s.record({ name: 'test-hash-rec', maxSeconds: 180, maxSilenceSeconds: 5 });
      const next = await s.nextDigit(100);
      return { rec, next };
    });
    await caller.waitForState('Up');
    await caller.speak(200);
    await caller.pressDigits('#');
    expect(await result()).toMatchObject({ rec: { callerHungUp: false, ok: true }, next: undefined });
  });
});
