/**
 * PUT /applications/{app}/eventFilter as Asterisk 22 implements it (res/stasis/app.c,
 * res/ari/ari_websockets.c): a filtered event type is never written to the app's socket.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAriSimulator, type AriSimulator } from '../../tools/ari-sim/index.js';
import { TestAri } from './helpers.js';

let sim: AriSimulator;
let pbx: TestAri;
beforeEach(async () => {
  sim = await startAriSimulator({ timeScale: 0.02, mediaDurationMs: () => 1000 });
  pbx = new TestAri(sim.url, 'pbx');
  await pbx.connect();
});
afterEach(async () => {
  pbx.close();
  await sim.close();
});

describe('application event filter', () => {
  it('an allowed list lets only its types through; the app shows its lists', async () => {
    const set = await pbx.req(
      'PUT',
      '/applications/pbx/eventFilter',
      {},
      {
        allowed: [{ type: 'StasisStart' }, { type: 'StasisEnd' }],
      },
    );
    expect(set.status).toBe(200);
    expect(set.body.events_allowed).toEqual([{ type: 'StasisStart' }, { type: 'StasisEnd' }]);
    expect(set.body.events_disallowed).toEqual([]);
    const call = await sim.driver.placeCall({ from: '1', to: '2' });
    await pbx.waitFor((e) => e.type === 'StasisStart' && e.channel.id === call.id);
    await pbx.req('POST', `/channels/${call.id}/answer`);
    await pbx.req('DELETE', `/channels/${call.id}`);
    await pbx.waitFor((e) => e.type === 'StasisEnd' && e.channel.id === call.id);
    expect(new Set(pbx.events.map((e) => e.type))).toEqual(new Set(['StasisStart', 'StasisEnd']));
  });

  it('disallowed wins over allowed; a list not given stays; an empty body clears both', async () => {
    await pbx.req('PUT', '/applications/pbx/eventFilter', {}, { allowed: [{ type: 'StasisStart' }] });
    const both = await pbx.req(
      'PUT',
      '/applications/pbx/eventFilter',
      {},
      {
        disallowed: [{ type: 'StasisStart' }],
      },
    );
    expect(both.body.events_allowed).toEqual([{ type: 'StasisStart' }]);
    expect(both.body.events_disallowed).toEqual([{ type: 'StasisStart' }]);
    const call = await sim.driver.placeCall({ from: '1', to: '2' });
    await new Promise((r) => setTimeout(r, 100));
    expect(pbx.events.filter((e) => e.type === 'StasisStart')).toEqual([]);
    const cleared = await pbx.req('PUT', '/applications/pbx/eventFilter', {}, {});
    expect(cleared.body.events_allowed).toEqual([]);
    expect(cleared.body.events_disallowed).toEqual([]);
    await pbx.req('POST', `/channels/${call.id}/answer`);
    await pbx.waitFor((e) => e.type === 'ChannelStateChange' && e.channel.id === call.id);
  });

  it('refuses a malformed filter (400) and an unknown application (404)', async () => {
    expect(
      (await pbx.req('PUT', '/applications/pbx/eventFilter', {}, { allowed: 'StasisStart' })).status,
    ).toBe(400);
    expect(
      (await pbx.req('PUT', '/applications/pbx/eventFilter', {}, { allowed: [{ name: 'x' }] })).status,
    ).toBe(400);
    expect((await pbx.req('PUT', '/applications/nobody/eventFilter', {}, { allowed: [] })).status).toBe(404);
  });
});
