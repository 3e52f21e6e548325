/**
 * Workplace call features as the employee sees them (forwarding, parallel ringing, voicebox
 * PIN, caller ID, voicebox messages) — over real HTTP on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  expectStatus,
  issuePaths,
  makeApp,
  seedCompany,
  type TestApp,
  workplaceBody,
} from './helpers.js';

describe('workplace features', () => {
  let t: TestApp;
  let s: Awaited<ReturnType<typeof seedCompany>>;
  let url: string;
  let employee: string;
  let baseUrl: string;
  let workplaceId: string;

  beforeAll(async () => {
    t = await makeApp();
    s = await seedCompany(t.app, 'F GmbH', { first: '+4930666000', last: '+4930666099' });
    const w = await expectStatus(
      call(
        t.app,
        'POST',
        `${s.base}/workplaces`,
        s.adminToken,
        workplaceBody('+4930666001', { voicebox: { enabled: true } }),
      ),
      201,
    );
    workplaceId = w.id;
    url = `${s.base}/workplaces/${w.id}`;
    employee = (
      await expectStatus(
        call(t.app, 'POST', `${s.base}/tokens`, s.adminToken, { role: 'employee', workplaceId: w.id }),
        201,
      )
    ).token;
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => t.close());

  /** A real HTTP request on loopback as the employee. */
  async function http(method: string, path: string, body?: unknown, token = employee) {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      text,
      json: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined,
    };
  }

  it('forwarding: SPEC shapes, a plain number string, normalisation, disabled rules left out', async () => {
    const res = await http('PUT', `${url}/forwarding`, {
      always: { enabled: false },
      busy: { enabled: true, target: 'voicebox' },
      noAnswer: { enabled: true, target: { number: '0170 1234567' }, ringSeconds: 25 },
      unreachable: { enabled: true, target: '+491719876543' },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({
      always: { enabled: false },
      busy: { enabled: true, target: 'voicebox' },
      noAnswer: { enabled: true, target: { number: '+491701234567' }, ringSeconds: 25 },
      unreachable: { enabled: true, target: { number: '+491719876543' } },
    });
    expect((await http('GET', `${url}/forwarding`)).json).toEqual(res.json);
    const cleared = await http('PUT', `${url}/forwarding`, {});
    expect(cleared.json.noAnswer).toEqual({ enabled: false, ringSeconds: 20 });
  });

  it.each([
    [
      'ring time below 5 s',
      { noAnswer: { enabled: true, target: 'voicebox', ringSeconds: 4 } },
      ['noAnswer.ringSeconds'],
    ],
    [
      'ring time above 120 s',
      { noAnswer: { enabled: true, target: 'voicebox', ringSeconds: 121 } },
      ['noAnswer.ringSeconds'],
    ],
    [
      'enabled without target',
      { always: { enabled: true }, busy: { enabled: true } },
      ['always.target', 'busy.target'],
    ],
    [
      'target not a number',
      { always: { enabled: true, target: { number: 'abc' } } },
      ['always.target.number'],
    ],
    ['forward to itself', { always: { enabled: true, target: '+4930666001' } }, ['always.target.number']],
  ])('forwarding 400: %s', async (_name, body, paths) => {
    const res = await http('PUT', `${url}/forwarding`, body);
    expect(res.status, res.text).toBe(400);
    expect(issuePaths(res.json)).toEqual(paths);
  });

  it('parallel ringing: 1–5 numbers when enabled, normalised, no duplicates, not the own number', async () => {
    const ok = await http('PUT', `${url}/parallel-ringing`, {
      enabled: true,
      numbers: ['0170 1234567', '+491719876543'],
    });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json).toEqual({
      enabled: true,
      numbers: ['+491701234567', '+491719876543'],
      answerConfirmation: false,
    });
    const empty = await http('PUT', `${url}/parallel-ringing`, { enabled: true, numbers: [] });
    expect(issuePaths(empty.json)).toEqual(['numbers']);
    const dup = await http('PUT', `${url}/parallel-ringing`, {
      enabled: true,
      numbers: ['+491701234567', '01701234567', '+4930666001'],
    });
    expect(issuePaths(dup.json)).toEqual(['numbers.1', 'numbers.2']);
    const six = await http('PUT', `${url}/parallel-ringing`, {
      enabled: true,
      numbers: ['1', '2', '3', '4', '5', '6'].map((d) => `+4917012345${d}0`),
    });
    expect(issuePaths(six.json)).toEqual(['numbers']);
    // the store's parallel-number index follows (portal authentication uses it)
    expect((await t.store.workplaces.byParallelNumber('+491701234567')).map((w) => w.id)).toEqual([
      workplaceId,
    ]);
  });

  it('voicebox PIN: write-only, strength rules, previous PIN refused, resets the failure counter', async () => {
    const weak = await http('PUT', `${url}/voicebox`, { enabled: true, pin: '0000' });
    expect(weak.status).toBe(400);
    expect(issuePaths(weak.json)).toEqual(['pin']);
    const nums = await http('PUT', `${url}/voicebox`, { enabled: true, pin: '12ab' });
    expect(issuePaths(nums.json)).toEqual(['pin']);
    const ext = await http('PUT', `${url}/voicebox`, { enabled: true, pin: '60015' }); // extension 6001
    expect(issuePaths(ext.json)).toEqual(['pin']);

    for (let i = 0; i < 5; i++) await t.store.pinFailures.increment(workplaceId);
    expect((await http('GET', `${url}/voicebox`)).json).toMatchObject({ locked: true, failedAttempts: 5 });

    const set = await http('PUT', `${url}/voicebox`, { enabled: true, pin: '4711' });
    expect(set.status, set.text).toBe(200);
    expect(set.json).toEqual({
      enabled: true,
      mail: true,
      pinSet: true,
      locked: false,
      failedAttempts: 0,
      greeting: 'default',
    });
    expect(set.text).not.toContain('scrypt');
    // voicebox by e-mail: on unless switched off; the PIN stays as it is
    const noMail = await http('PUT', `${url}/voicebox`, { enabled: true, mail: false });
    expect(noMail.json).toMatchObject({ enabled: true, mail: false, pinSet: true });
    expect((await http('PUT', `${url}/voicebox`, { enabled: true, mail: true })).json).toMatchObject({ mail: true });

    const again = await http('PUT', `${url}/voicebox`, { enabled: true, pin: '4711' });
    expect(again.status).toBe(400);
    const reversed = await http('PUT', `${url}/voicebox`, { enabled: true, pin: '1174' });
    expect(reversed.status).toBe(400);
    expect((await http('PUT', `${url}/voicebox`, { enabled: true, pin: '5820' })).status).toBe(200);
  });

  it('PIN unlock is admin-only', async () => {
    for (let i = 0; i < 5; i++) await t.store.pinFailures.increment(workplaceId);
    expect((await http('DELETE', `${url}/voicebox/lock`)).status).toBe(403);
    const unlocked = await http('DELETE', `${url}/voicebox/lock`, undefined, s.adminToken);
    expect(unlocked.status, unlocked.text).toBe(200);
    expect(unlocked.json).toMatchObject({ locked: false, failedAttempts: 0 });
  });

  it('caller-ID presentation', async () => {
    expect((await http('PUT', `${url}/caller-id`, { presentation: 'anonymous' })).json).toEqual({
      presentation: 'anonymous',
    });
    expect((await http('GET', url)).json.callerIdPresentation).toBe('anonymous');
    expect(issuePaths((await http('PUT', `${url}/caller-id`, { presentation: 'hidden' })).json)).toEqual([
      'presentation',
    ]);
  });

  it('voicebox messages: list, download audio, mark heard, delete with the recording', async () => {
    const message = {
      id: 'msg-1',
      companyId: s.company.id,
      workplaceId,
      callerNumber: '+491701234567',
      receivedAt: new Date().toISOString(),
      durationSeconds: 7,
      recordingName: 'vb-msg-1',
      status: 'new' as const,
    };
    await t.store.voicebox.add(message);
    t.recordings.files.set('vb-msg-1', Buffer.from('RIFF-fake-wav'));

    const list = await http('GET', `${url}/voicebox/messages`);
    expect(list.json).toEqual([
      {
        id: 'msg-1',
        workplaceId,
        callerNumber: '+491701234567',
        receivedAt: message.receivedAt,
        durationSeconds: 7,
        status: 'new',
      },
    ]);
    const audio = await http('GET', `${url}/voicebox/messages/msg-1/audio`);
    expect(audio.status).toBe(200);
    expect(audio.headers.get('content-type')).toBe('audio/wav');
    expect(audio.text).toBe('RIFF-fake-wav');

    expect((await http('PATCH', `${url}/voicebox/messages/msg-1`, { status: 'heard' })).json.status).toBe(
      'heard',
    );
    expect((await t.store.voicebox.get(workplaceId, 'msg-1'))?.status).toBe('heard');
    expect(
      issuePaths((await http('PATCH', `${url}/voicebox/messages/msg-1`, { status: 'new' })).json),
    ).toEqual(['status']);

    expect((await http('DELETE', `${url}/voicebox/messages/msg-1`)).status).toBe(204);
    expect(t.recordings.deleted).toContain('vb-msg-1');
    expect((await http('GET', `${url}/voicebox/messages/msg-1`)).status).toBe(404);
  });
});
