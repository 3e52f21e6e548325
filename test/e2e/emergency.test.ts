/**
 * Emergency calls and special numbers from a real registered SIP phone, on the real Asterisk 22
 * with the production dialplan (asterisk/extensions.conf, ARI_APP=pbx), the controller as its own
 * process (src/app/main.ts) with DIAL_DEVICE=PJSIP/{endpoint} and DIAL_EXTERNAL=PJSIP/{number}@trunk,
 * and a stand-in carrier behind the trunk (test/e2e/sip.ts) that records every INVITE.
 *
 * Addresses: Asterisk's SIP on 127.0.0.1, the carrier on 127.0.0.4 (the trunk's identify matches
 * it), the phone on 127.0.0.2.
 *
 * One Asterisk, one Redis and one carrier serve every case; the controller is killed and started
 * again, Redis stopped and started, in place.
 */
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAsteriskBinary, startLocalAsterisk, type LocalAsterisk } from '../../tools/asterisk/local.js';
import { startRedisServer, type OwnRedis } from '../../tools/redis-server.js';
import { startControllerProcess, type ControllerProcess } from './controller-proc.js';
import { SipPhone, StandInCarrier, type CarrierInvite } from './sip.js';

const bin = findAsteriskBinary();
const skipReason = bin ? undefined : 'no local Asterisk build (ASTERISK_BIN or /opt/asterisk-22.10.1)';
if (skipReason) {
  if (process.env.E2E_REQUIRED === 'yes') throw new Error(`[e2e emergency] ${skipReason}`);
  console.warn(`\n[e2e emergency] SKIPPED — ${skipReason}\n`);
}

const PLATFORM_TOKEN = 'emergency-platform-admin-token-0123456789';
const CARRIER_ADDRESS = '127.0.0.4';
const PHONE_ADDRESS = '127.0.0.2';

interface WorkplaceView {
  id: string;
  number: string;
  status: string;
  statusReason?: string;
  devices: Array<{ sipUsername: string; sipPassword?: string }>;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve()
      .then(check)
      .catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(100);
  }
}

describe.skipIf(skipReason !== undefined)(
  'emergency calls from a registered phone',
  { timeout: 60_000 },
  () => {
    let asterisk: LocalAsterisk;
    let redis: OwnRedis;
    let carrier: StandInCarrier;
    let ctl: ControllerProcess | undefined;
    const phones: SipPhone[] = [];
    let base = '';
    let adminToken = '';
    let cid = '';
    let groupId = '';
    let wp: WorkplaceView;
    let phone: SipPhone;

    function startController(): ControllerProcess {
      return startControllerProcess({
        PORT: '0',
        HOST: '127.0.0.1',
        ADMIN_TOKEN: PLATFORM_TOKEN,
        REDIS_URL: redis.url,
        ARI_URL: asterisk.url,
        ARI_USERNAME: asterisk.username,
        ARI_PASSWORD: asterisk.password,
        ARI_APP: 'pbx',
        COUNTRY_CODE: '49',
        DIAL_DEVICE: 'PJSIP/{endpoint}',
        DIAL_EXTERNAL: 'PJSIP/{number}@trunk',
        CONTROLLER_ID: 'emergency-controller',
        LOG_LEVEL: process.env.E2E_SIP_DEBUG ? 'debug' : 'info',
      });
    }

    async function controllerUp(): Promise<void> {
      ctl = startController();
      base = await ctl.listening;
      await ctl.waitForLog('"msg":"devices resynced"');
    }

    async function api<T>(method: string, path: string, body?: unknown, token = adminToken): Promise<T> {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    }

    interface EmergencyEvent {
      id: string;
      type: string;
      callId: string;
      workplaceId: string;
      device: string;
      dialled: string;
      number: string;
      presented: string;
      location?: string;
      startedAt: string;
      late: boolean;
    }
    interface CallLine {
      id: string;
      outcome: string;
      to: string;
      toDialled: string;
      from: string;
      direction: string;
    }

    /** The company's event stream, from `lastEventId` on (replayed) and live; every event kept. */
    function openEvents(lastEventId?: string): {
      events: EmergencyEvent[];
      ready: Promise<void>;
      close(): void;
    } {
      const query = lastEventId ? `?lastEventId=${encodeURIComponent(lastEventId)}` : '';
      const socket = new WebSocket(`${base.replace('http', 'ws')}/v1/companies/${cid}/events${query}`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      const events: EmergencyEvent[] = [];
      let hello: () => void = () => {};
      const ready = new Promise<void>((r) => (hello = r));
      socket.on('message', (data: Buffer) => {
        const m = JSON.parse(data.toString()) as EmergencyEvent;
        if (m.id) events.push(m);
        else if (m.type === 'hello') hello();
      });
      socket.on('error', () => {});
      return { events, ready, close: () => socket.close() };
    }

    async function callLines(): Promise<CallLine[]> {
      return (
        await api<{ items: CallLine[] }>('GET', `/v1/companies/${cid}/workplaces/${wp.id}/calls?limit=100`)
      ).items;
    }

    async function ari(method: string, path: string): Promise<Response> {
      const auth = 'Basic ' + Buffer.from(`${asterisk.username}:${asterisk.password}`).toString('base64');
      return fetch(`${asterisk.url}/ari${path}`, { method, headers: { authorization: auth } });
    }

    async function newPhone(address: string, device: { sipUsername: string; sipPassword?: string }) {
      const p = await new SipPhone(
        address,
        { host: '127.0.0.1', port: asterisk.sipPort },
        device.sipUsername,
        device.sipPassword!,
      ).open();
      phones.push(p);
      return p;
    }

    /** The phone dials `number`; resolves with what the carrier received for this call. */
    async function dialToCarrier(number: string): Promise<{ invite: CarrierInvite; status: number }> {
      const before = carrier.invites.length;
      const result = await phone.call(number);
      expect(carrier.invites.length, `the carrier got an INVITE for ${number}`).toBe(before + 1);
      if (process.env.E2E_SIP_DEBUG) console.log(carrier.invites[before]?.raw, result);
      return { invite: carrier.invites[before]!, status: result.status };
    }

    beforeAll(async () => {
      carrier = await new StandInCarrier(CARRIER_ADDRESS).open();
      asterisk = await startLocalAsterisk({
        e2e: false,
        env: { TRUNK_HOST: `${CARRIER_ADDRESS}:${carrier.port}`, TRUNK_MATCH: CARRIER_ADDRESS },
      });
      redis = await startRedisServer({ persistent: true });
      await controllerUp();
      cid = (await api<{ id: string }>('POST', '/v1/companies', { name: 'Notruf GmbH' }, PLATFORM_TOKEN)).id;
      adminToken = (
        await api<{ token: string }>('POST', `/v1/companies/${cid}/tokens`, { role: 'admin' }, PLATFORM_TOKEN)
      ).token;
      groupId = (
        await api<{ id: string }>('POST', `/v1/companies/${cid}/groups`, {
          name: 'Berlin',
          timezone: 'Europe/Berlin',
          numberRanges: [{ first: '+493055500000', last: '+493055509999' }],
          address: { street: 'Alexanderplatz 1', postalCode: '10178', city: 'Berlin', country: 'de' },
        })
      ).id;
      wp = await api<WorkplaceView>('POST', `/v1/companies/${cid}/workplaces`, {
        firstName: 'Erika',
        lastName: 'Muster',
        email: 'erika@example.com',
        username: 'erika',
        groupId,
        number: '+493055501234',
        language: 'de',
        timezone: 'Europe/Berlin',
        devices: [{ type: 'deskphone', model: 'Yealink T54W' }],
      });
      await until(
        async () =>
          (await api<WorkplaceView>('GET', `/v1/companies/${cid}/workplaces/${wp.id}`)).status === 'active' ||
          undefined,
        'workplace active',
      );
      phone = await newPhone(PHONE_ADDRESS, wp.devices[0]!);
      expect(await phone.register()).toBe(200);
    });

    afterAll(async () => {
      for (const p of phones) p.close();
      await ctl?.kill('SIGTERM');
      carrier?.close();
      await redis?.stop();
      await asterisk?.close();
    });

    it('(a) 112 and 110 reach the carrier with the workplace number in From and P-Asserted-Identity; each is an event, a call-list line and a warn log line', async () => {
      const stream = openEvents();
      await stream.ready;
      for (const n of ['112', '110']) {
        const { invite, status } = await dialToCarrier(n);
        expect(invite.to).toBe(n);
        expect(invite.from).toBe(wp.number);
        expect(invite.pai).toBe(wp.number);
        expect(invite.privacy ?? 'none').toBe('none');
        expect(status).toBe(200);
      }
      // an emergency.call event each, with the workplace, device, number, presented number and
      // the location's address
      const seen = await until(() => {
        const e = stream.events.filter((x) => x.type === 'emergency.call');
        return e.length >= 2 ? e : undefined;
      }, 'two emergency.call events');
      stream.close();
      expect(seen.map((e) => e.number).sort()).toEqual(['110', '112']);
      for (const e of seen) {
        expect(e).toMatchObject({
          workplaceId: wp.id,
          device: wp.devices[0]!.sipUsername,
          presented: wp.number,
          location: 'Alexanderplatz 1, 10178 Berlin, DE',
          late: false,
        });
        expect(e.dialled).toBe(e.number);
      }
      const lines = await until(async () => {
        const l = (await callLines()).filter((c) => seen.some((e) => e.callId === c.id));
        return l.length >= 2 ? l : undefined;
      }, 'two emergency call-list lines');
      expect(lines.map((l) => [l.to, l.outcome, l.from, l.direction]).sort()).toEqual([
        ['110', 'emergency', wp.number, 'outbound'],
        ['112', 'emergency', wp.number, 'outbound'],
      ]);
      await until(
        () => /"level":40[^\n]*"msg":"emergency call"/.test(ctl!.out()) || undefined,
        'the warn log line',
      );
    });

    it('112 dialled as 0112, +49112 and 0049112 reaches the carrier as 112', async () => {
      for (const form of ['0112', '+49112', '0049112']) {
        const { invite } = await dialToCarrier(form);
        expect(invite.to).toBe('112');
        expect(invite.pai).toBe(wp.number);
      }
    });

    it('116117 and 77115 reach the carrier as 116117 and 115', async () => {
      const social = await dialToCarrier('116117');
      expect(social.invite.to).toBe('116117');
      expect(social.invite.pai).toBe(wp.number);
      const special = await dialToCarrier('77115');
      expect(special.invite.to).toBe('115');
      expect(special.invite.pai).toBe(wp.number);
    });

    it('(e) a blocking profile that blocks every outgoing call blocks 77115 but not 112, 110 or 116117', async () => {
      const profile = await api<{ id: string }>('POST', `/v1/companies/${cid}/blocking-profiles`, {
        name: 'alles gesperrt',
        incoming: [],
        outgoing: ['+1', '+2', '+3', '+4', '+5', '+6', '+7', '+8', '+9'],
        forwarded: [],
      });
      await api('PATCH', `/v1/companies/${cid}/workplaces/${wp.id}`, { blockingProfileId: profile.id });
      try {
        // the control: the profile is in force for a number it may block
        const before = carrier.invites.length;
        await phone.call('77115');
        expect(carrier.invites.length, 'a blocked 77115 reaches no carrier').toBe(before);
        for (const n of ['112', '110', '116117']) {
          const { invite } = await dialToCarrier(n);
          expect(invite.to).toBe(n);
          expect(invite.pai).toBe(wp.number);
        }
      } finally {
        await api('PATCH', `/v1/companies/${cid}/workplaces/${wp.id}`, { blockingProfileId: null });
      }
    });

    it('(f) a workplace presenting anonymously still presents its number on 112 and 110 (116117 stays withheld)', async () => {
      await api('PATCH', `/v1/companies/${cid}/workplaces/${wp.id}`, { callerIdPresentation: 'anonymous' });
      try {
        for (const n of ['112', '110']) {
          const { invite } = await dialToCarrier(n);
          expect(invite.from).toBe(wp.number);
          expect(invite.pai).toBe(wp.number);
          expect(invite.privacy ?? 'none').toBe('none');
        }
        const social = await dialToCarrier('116117');
        expect(social.invite.from).not.toBe(wp.number);
        expect(social.invite.privacy).toMatch(/id/);
      } finally {
        await api('PATCH', `/v1/companies/${cid}/workplaces/${wp.id}`, { callerIdPresentation: 'number' });
      }
    });

    it('(d) with the shedding gate closed, 112 and 110 reach the carrier', async () => {
      const until = Math.floor(Date.now() / 1000) + 60;
      expect(
        (await ari('POST', `/asterisk/variable?variable=PBX_SHED_UNTIL_pbx&value=${until}`)).status,
      ).toBe(204);
      expect((await ari('POST', '/asterisk/variable?variable=PBX_SHED_PERCENT_pbx&value=100')).status).toBe(
        204,
      );
      try {
        for (const n of ['112', '110']) {
          const { invite } = await dialToCarrier(n);
          expect(invite.pai).toBe(wp.number);
        }
      } finally {
        await ari('POST', '/asterisk/variable?variable=PBX_SHED_PERCENT_pbx&value=0');
      }
    });

    it('(c) with Redis stopped, 112 and 110 reach the carrier', async () => {
      await redis.pause();
      try {
        for (const n of ['112', '110']) {
          const { invite } = await dialToCarrier(n);
          expect(invite.to).toBe(n);
          expect(invite.pai).toBe(wp.number);
        }
      } finally {
        await redis.restart();
        // the controller's store and event backend reconnect before the next case
        await until(
          async () => (await api<WorkplaceView>('GET', `/v1/companies/${cid}/workplaces/${wp.id}`)).id,
          'the API on Redis again',
        );
      }
    });

    it('(b) with the controller killed, 112 and 110 reach the carrier; the calls are reported when it is back', async () => {
      // an event to resume the stream from after the restart
      const before = openEvents();
      await before.ready;
      await api('PATCH', `/v1/companies/${cid}/workplaces/${wp.id}`, { email: 'erika.muster@example.com' });
      const mark = await until(() => before.events.at(-1)?.id, 'an event to resume from');
      before.close();
      // records carry whole seconds: the calls of this case start in a second of their own
      await delay(1100);
      await ctl!.kill('SIGKILL');
      ctl = undefined;
      const killedAt = Math.floor(Date.now() / 1000) * 1000;
      for (const n of ['112', '110']) {
        const { invite } = await dialToCarrier(n);
        expect(invite.to).toBe(n);
        expect(invite.from).toBe(wp.number);
        expect(invite.pai).toBe(wp.number);
      }
      // the control: without the controller an ordinary number goes nowhere
      const beforeControl = carrier.invites.length;
      // (the phone may be left ringing a while: what counts is that nothing reached the carrier)
      await phone.call('030123456', { ms: 3000 }).catch(() => undefined);
      expect(carrier.invites.length).toBe(beforeControl);
      await controllerUp();
      const after = openEvents(mark);
      const reported = await until(() => {
        const e = after.events.filter(
          (x) => x.type === 'emergency.call' && Date.parse(x.startedAt) >= killedAt,
        );
        return e.length >= 2 ? e : undefined;
      }, 'the emergency calls made while the controller was down, as events');
      after.close();
      expect(reported.map((e) => e.number).sort()).toEqual(['110', '112']);
      expect(reported.every((e) => e.presented === wp.number && e.workplaceId === wp.id)).toBe(true);
      const lines = await until(async () => {
        const l = (await callLines()).filter((c) => reported.some((e) => e.callId === c.id));
        return l.length >= 2 ? l : undefined;
      }, 'their call-list lines');
      expect(lines.every((l) => l.outcome === 'emergency')).toBe(true);
    });
  },
);
