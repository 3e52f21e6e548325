/**
 * Emergency calls and special numbers from a real registered SIP phone, on the real Asterisk 22
 * with the production dialplan (asterisk/extensions.conf, ARI_APP=pbx), the controller as its own
 * process (src/main.ts) with DIAL_DEVICE=PJSIP/{endpoint} and DIAL_EXTERNAL=PJSIP/{number}@trunk,
 * and a stand-in carrier behind the trunk (test/e2e/sip.ts) that records every INVITE.
 *
 * Addresses: Asterisk's SIP on 127.0.0.1, the carrier on 127.0.0.4 (the trunk's identify matches
 * it), the phone on 127.0.0.2.
 *
 * One Asterisk, one Redis and one carrier serve every case; the controller is killed and started
 * again, Redis stopped and started, in place.
 */
import pino from 'pino';
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
    const logger = pino({ level: 'silent' });
    void logger;
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
        LOG_LEVEL: 'info',
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

    it('(a) 112 and 110 reach the carrier with the workplace number in From and P-Asserted-Identity', async () => {
      for (const n of ['112', '110']) {
        const { invite, status } = await dialToCarrier(n);
        expect(invite.to).toBe(n);
        expect(invite.from).toBe(wp.number);
        expect(invite.pai).toBe(wp.number);
        expect(invite.privacy ?? 'none').toBe('none');
        expect(status).toBe(200);
      }
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
      }
    });

    it('(b) with the controller killed, 112 and 110 reach the carrier', async () => {
      await ctl!.kill('SIGKILL');
      ctl = undefined;
      for (const n of ['112', '110']) {
        const { invite } = await dialToCarrier(n);
        expect(invite.to).toBe(n);
        expect(invite.from).toBe(wp.number);
        expect(invite.pai).toBe(wp.number);
      }
      // the control: without the controller an ordinary number goes nowhere
      const before = carrier.invites.length;
      await phone.call('030123456');
      expect(carrier.invites.length).toBe(before);
      await controllerUp();
    });
  },
);
