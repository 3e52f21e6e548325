import { Agent } from 'undici';
import { Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAriSimulator, type AriSimulator } from '../../tools/ari-sim/index.js';
import { TestAri } from './helpers.js';

let sim: AriSimulator;
let pbx: TestAri;
beforeAll(async () => {
  sim = await startAriSimulator({ timeScale: 0.01, mediaDurationMs: () => 1000, logLimit: 1000 });
  pbx = new TestAri(sim.url, 'pbx');
  await pbx.connect();
});
afterAll(async () => {
  pbx.close();
  await sim.close();
});

it('carries 1500 concurrent calls with outbound legs and bridges, and leaves nothing behind', async () => {
  const agent = new Agent({ connections: 32 });
  const auth = 'Basic ' + Buffer.from('ari:ari').toString('base64');
  const call = async (method: string, path: string) => {
    const res = await fetch(`${sim.url}/ari${path}`, {
      method,
      headers: { authorization: auth },
      dispatcher: agent,
    } as RequestInit);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  sim.driver.setEndpointBehaviour(/^PJSIP\/dev-/, { kind: 'answer', afterMs: 100 });
  const N = 1500;
  const calls = await Promise.all(
    Array.from({ length: N }, (_, i) => sim.driver.placeCall({ from: `+4917${i}`, to: '100' })),
  );
  expect(sim.driver.channels()).toHaveLength(N);
  const legs = await Promise.all(
    calls.map((_, i) => call('POST', `/channels/create?endpoint=PJSIP/dev-${i}&app=pbx&channelId=leg-${i}`)),
  );
  expect(legs.every((l) => l.status === 200)).toBe(true);
  await Promise.all(
    legs.map((l) => pbx.waitFor((e) => e.type === 'StasisStart' && e.channel.id === l.body.id, 10_000)),
  );
  await Promise.all(calls.map((c, i) => call('POST', `/channels/leg-${i}/dial?caller=${c.id}&timeout=30`)));
  await Promise.all(legs.map((l) => sim.driver.channel(l.body.id)!.waitForState('Up', 10_000)));
  await Promise.all(
    calls.map(async (c, i) => {
      await call('POST', `/channels/${c.id}/answer`);
      const bridge = await call('POST', '/bridges?type=mixing');
      await call('POST', `/bridges/${bridge.body.id}/addChannel?channel=${c.id},leg-${i}`);
    }),
  );
  expect(sim.driver.bridges()).toHaveLength(N);
  expect(sim.driver.bridges().every((b) => b.channelIds.length === 2)).toBe(true);
  await Promise.all(calls.map((c) => c.hangup()));
  await Promise.all(calls.map((_, i) => call('DELETE', `/channels/leg-${i}`)));
  await Promise.all(sim.driver.bridges().map((b) => call('DELETE', `/bridges/${b.id}`)));
  expect(sim.driver.channels()).toHaveLength(0);
  expect(sim.driver.bridges()).toHaveLength(0);
  expect(calls.every((c) => c.hangupCause() === 16)).toBe(true);
  // the event log is bounded
  expect(sim.driver.events().length).toBeLessThanOrEqual(1000);
  await agent.close();
}, 60_000);

it('with sessionLimit, connections beyond the limit are closed like Asterisk does', async () => {
  const limited = await startAriSimulator({ sessionLimit: 3 });
  const { port } = new URL(limited.url);
  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = new Socket();
      s.once('error', reject);
      s.connect(Number(port), '127.0.0.1', () => resolve(s));
    });
  const held = await Promise.all([open(), open(), open()]);
  const extra = await open();
  const closedByServer = await new Promise<boolean>((resolve) => {
    extra.once('close', () => resolve(true));
    extra.write('GET /ari/asterisk/ping?api_key=ari:ari HTTP/1.1\r\nHost: x\r\n\r\n');
  });
  expect(closedByServer).toBe(true);
  held[0]!.write('GET /ari/asterisk/ping?api_key=ari:ari HTTP/1.1\r\nHost: x\r\n\r\n');
  const answer = await new Promise<string>((resolve) => held[0]!.once('data', (d) => resolve(String(d))));
  expect(answer).toMatch(/^HTTP\/1.1 200/);
  for (const s of held) s.destroy();
  await limited.close();
});
