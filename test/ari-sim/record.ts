/**
 * Records what a real Asterisk 22.10.1 answers and sends, in the format of
 * /work/shared/ari/traces (one JSON object per line: a `meta` line, then `rest` and `event`
 * lines in time order), for what the simulator cannot know by itself. The shared traces are
 * read-only; new ones go to test/ari-sim/traces/ and test/ari-sim/traces.test.ts replays them
 * against the simulator too.
 *
 *   npx tsx test/ari-sim/record.ts [scenario ...]      (needs /opt/asterisk-22.10.1 or ASTERISK_BIN)
 *
 * It starts the local Asterisk on the project's asterisk/ (tools/asterisk/local.ts) and adds the
 * dialplan the shared traces were recorded with (from-trunk → pbx, lab-devices/lab-pstn →
 * labdriver), so the replay runs every trace with one dialplan. Never dial a channel twice here:
 * Asterisk 22.10.1 crashes (see /work/shared/ari/README.md).
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startLocalAsterisk, type LocalAsterisk } from '../../tools/asterisk/local.js';
import { README_DIALPLAN, type AriEvent } from './helpers.js';

const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), 'traces');

type Query = Record<string, string | number | boolean>;
interface Rest {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

class Recorder {
  readonly lines: unknown[] = [];
  readonly events: AriEvent[] = [];
  private readonly t0 = Date.now();
  private ws?: WebSocket;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly ast: LocalAsterisk,
    readonly scenario: string,
  ) {
    this.lines.push({
      kind: 'meta',
      scenario,
      apps: { pbx: 'the controller under test', labdriver: 'the outside world: callers, phones, PSTN' },
      dialplan: 'from-trunk: Stasis(pbx,inbound); lab-devices/lab-pstn: Stasis(labdriver,device|pstn,EXTEN)',
      asterisk: '22.10.1',
      recorded: new Date().toISOString(),
    });
  }

  private get auth(): string {
    return 'Basic ' + Buffer.from(`${this.ast.username}:${this.ast.password}`).toString('base64');
  }

  async connect(): Promise<void> {
    const ws = new WebSocket(`${this.ast.url.replace('http', 'ws')}/ari/events?app=pbx,labdriver`, {
      headers: { authorization: this.auth },
    });
    ws.on('message', (data) => {
      const event = JSON.parse(String(data)) as AriEvent;
      this.events.push(event);
      this.lines.push({ t: Date.now() - this.t0, kind: 'event', app: event.application, event });
      for (const l of [...this.listeners]) l();
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    this.ws = ws;
  }

  close(): void {
    this.ws?.terminate();
  }

  async rest(
    actor: 'pbx' | 'world',
    method: string,
    path: string,
    query: Query = {},
    requestBody?: unknown,
  ): Promise<Rest> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
    const res = await fetch(`${this.ast.url}/ari${path}${qs ? '?' + qs : ''}`, {
      method,
      headers: {
        authorization: this.auth,
        ...(requestBody !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: requestBody !== undefined ? JSON.stringify(requestBody) : undefined,
    });
    const buf = Buffer.from(await res.arrayBuffer());
    const contentType = res.headers.get('content-type') ?? '';
    let body: unknown;
    if (contentType.includes('json') && buf.length > 0) body = JSON.parse(buf.toString('utf8'));
    else body = { bytes: buf.length, contentType, head: buf.subarray(0, 4).toString('latin1') };
    this.lines.push({
      t: Date.now() - this.t0,
      kind: 'rest',
      actor,
      method,
      path,
      query,
      ...(requestBody !== undefined ? { requestBody } : {}),
      status: res.status,
      body,
    });
    return { status: res.status, body };
  }

  waitFor(pred: (e: AriEvent) => boolean, timeoutMs = 5000): Promise<AriEvent> {
    const hit = this.events.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const l = () => {
        const e = this.events.find(pred);
        if (!e) return;
        this.listeners.delete(l);
        clearTimeout(timer);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(l);
        reject(
          new Error(`${this.scenario}: timed out; events: ${this.events.map((e) => e.type).join(', ')}`),
        );
      }, timeoutMs);
      this.listeners.add(l);
    });
  }

  /** Lets trailing events (ChannelDestroyed of created channels...) arrive before writing. */
  async settle(ms = 600): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
  }

  write(): string {
    mkdirSync(OUT_DIR, { recursive: true });
    const file = join(OUT_DIR, `${this.scenario}.jsonl`);
    writeFileSync(file, this.lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    return file;
  }
}

const stasisStart = (app: string, name: string) => (e: AriEvent) =>
  e.type === 'StasisStart' && e.application === app && e.channel?.name === name;

/** A caller reaches `pbx` through from-trunk; returns the ;1 (world) and ;2 (pbx) ids. */
async function inboundCall(rec: Recorder, to: string, from: string): Promise<{ world: string; pbx: string }> {
  const caller = await rec.rest('world', 'POST', '/channels', {
    endpoint: `Local/${to}@from-trunk`,
    app: 'labdriver',
    appArgs: 'caller',
    callerId: from,
  });
  const name = (caller.body.name as string).replace(/;1$/, ';2');
  const start = await rec.waitFor(stasisStart('pbx', name));
  return { world: caller.body.id as string, pbx: start.channel.id as string };
}

const SCENARIOS: Record<string, (rec: Recorder) => Promise<void>> = {
  /**
   * Playbacks that cannot finish `done`: a prompt file that does not exist, a prompt the caller
   * hangs up on, a playback requested on a channel that is gone, a stop of a playback that is over.
   */
  async 'playback-failures'(rec) {
    const call = await inboundCall(rec, '4930123470', '+491701234580');
    await rec.rest('pbx', 'POST', `/channels/${call.pbx}/answer`);
    await rec.rest('pbx', 'POST', `/channels/${call.pbx}/play`, {
      media: 'sound:pbx/no-such-prompt',
      lang: 'de',
      playbackId: 'pb-missing-1',
    });
    await rec.waitFor((e) => e.type === 'PlaybackFinished' && e.playback?.id === 'pb-missing-1');
    await rec.rest('pbx', 'DELETE', '/playbacks/pb-missing-1');
    await rec.rest('pbx', 'POST', `/channels/${call.pbx}/play`, {
      media: 'sound:pbx/vb-unavailable',
      lang: 'de',
      playbackId: 'pb-hangup-1',
    });
    await rec.waitFor((e) => e.type === 'PlaybackStarted' && e.playback?.id === 'pb-hangup-1');
    // soon: the replay plays every prompt for 200 ms (real) only
    await new Promise((r) => setTimeout(r, 50));
    await rec.rest('world', 'DELETE', `/channels/${call.world}`);
    await rec.waitFor((e) => e.type === 'PlaybackFinished' && e.playback?.id === 'pb-hangup-1');
    await rec.waitFor((e) => e.type === 'StasisEnd' && e.channel?.id === call.pbx);
    await rec.rest('pbx', 'POST', `/channels/${call.pbx}/play`, {
      media: 'sound:pbx/beep',
      playbackId: 'pb-gone-1',
    });
    await rec.settle();
  },

  /**
   * The error answers for every operation the controller uses, on channels that never existed
   * or are gone, recordings that exist or do not.
   */
  async 'rest-errors-controller'(rec) {
    const none = 'no-such-channel';
    await rec.rest('pbx', 'POST', `/channels/${none}/ring`);
    await rec.rest('pbx', 'POST', `/channels/${none}/record`, {
      name: 'rec-none',
      format: 'wav',
      ifExists: 'overwrite',
    });
    await rec.rest('pbx', 'POST', `/channels/${none}/dial`, { timeout: 5 });
    await rec.rest('pbx', 'POST', `/channels/${none}/dtmf`, { dtmf: '1' });
    await rec.rest('pbx', 'POST', `/channels/${none}/variable`, { variable: 'X', value: '1' });
    await rec.rest('pbx', 'DELETE', '/playbacks/no-such-playback');
    await rec.rest('pbx', 'DELETE', '/bridges/no-such-bridge');
    await rec.rest('pbx', 'DELETE', '/recordings/stored/no-such-recording');
    await rec.rest('pbx', 'GET', '/recordings/stored/no-such-recording/file');
    await rec.rest('pbx', 'POST', '/channels/create', { endpoint: 'Bogus/thing', app: 'pbx' });
    await rec.rest('pbx', 'POST', '/channels/create', { endpoint: 'PJSIP/no-such-endpoint', app: 'pbx' });

    // a call: a recording, the same name again, then the caller hangs up
    const call = await inboundCall(rec, '4930123471', '+491701234581');
    await rec.rest('pbx', 'POST', `/channels/${call.pbx}/answer`);
    const name = `rec-errors-${Date.now()}`;
    await rec.rest('pbx', 'POST', `/channels/${call.pbx}/record`, {
      name,
      format: 'wav',
      ifExists: 'overwrite',
      terminateOn: '#',
    });
    await rec.waitFor((e) => e.type === 'RecordingStarted' && e.recording?.name === name);
    // the name of a recording still running, whatever ifExists says
    await rec.rest('pbx', 'POST', `/channels/${call.pbx}/record`, {
      name,
      format: 'wav',
      ifExists: 'overwrite',
    });
    await rec.rest('world', 'POST', `/channels/${call.world}/dtmf`, { dtmf: '#' });
    await rec.waitFor((e) => e.type === 'RecordingFinished' && e.recording?.name === name);
    // a stored recording's name with ifExists=fail: at once, and once the recording is long over
    await rec.rest('pbx', 'POST', `/channels/${call.pbx}/record`, { name, format: 'wav', ifExists: 'fail' });
    await rec.settle(500);
    await rec.rest('pbx', 'POST', `/channels/${call.pbx}/record`, { name, format: 'wav', ifExists: 'fail' });
    // a leg whose dial names an unknown caller
    const leg = await rec.rest('pbx', 'POST', '/channels/create', {
      endpoint: 'Local/desk-x@lab-devices',
      app: 'pbx',
      appArgs: 'leg',
    });
    await rec.waitFor((e) => e.type === 'StasisStart' && e.channel?.id === leg.body.id);
    await rec.rest('pbx', 'POST', `/channels/${leg.body.id}/dial`, { caller: none, timeout: 5 });
    // the dial goes ahead: the far end (;2) enters labdriver
    const farName = (leg.body.name as string).replace(/;1$/, ';2');
    await rec.waitFor(stasisStart('labdriver', farName));
    await rec.rest('pbx', 'DELETE', `/channels/${leg.body.id}`);
    await rec.waitFor((e) => e.type === 'ChannelDestroyed' && e.channel?.id === leg.body.id);

    const bridge = await rec.rest('pbx', 'POST', '/bridges', { type: 'mixing' });
    await rec.rest('world', 'DELETE', `/channels/${call.world}`);
    await rec.waitFor((e) => e.type === 'StasisEnd' && e.channel?.id === call.pbx);
    // every verb on the caller that is gone now
    await rec.rest('pbx', 'POST', `/bridges/${bridge.body.id}/addChannel`, { channel: call.pbx });
    await rec.rest('pbx', 'POST', `/channels/${call.pbx}/answer`);
    await rec.rest('pbx', 'POST', `/channels/${call.pbx}/ring`);
    await rec.rest('pbx', 'POST', `/channels/${call.pbx}/play`, { media: 'sound:pbx/beep' });
    await rec.rest('pbx', 'POST', `/channels/${call.pbx}/record`, {
      name: `${name}-2`,
      format: 'wav',
      ifExists: 'overwrite',
    });
    await rec.rest('pbx', 'DELETE', `/channels/${call.pbx}`);
    await rec.rest('pbx', 'DELETE', `/bridges/${bridge.body.id}`);
    // the stored name with ifExists=fail from another call, long after the first one ended
    const second = await inboundCall(rec, '4930123473', '+491701234583');
    await rec.rest('pbx', 'POST', `/channels/${second.pbx}/answer`);
    await rec.rest('pbx', 'POST', `/channels/${second.pbx}/record`, {
      name,
      format: 'wav',
      ifExists: 'fail',
    });
    await rec.settle(300);
    await rec.rest('world', 'DELETE', `/channels/${second.world}`);
    await rec.waitFor((e) => e.type === 'StasisEnd' && e.channel?.id === second.pbx);
    await rec.rest('pbx', 'DELETE', `/recordings/stored/${name}`);
    await rec.settle();
  },

  /**
   * One bridge for two calls one after the other, as the controller's bridge pool uses it
   * (src/calls/connected/bridge-pool.ts): the emptied bridge stays (and stays listed among the app's
   * bridges), takes the next call's channels, and a leg carries the variables its originate set
   * (the first leg's originate names a caller, the second's does not: an anonymous caller).
   */
  async 'bridge-reuse'(rec) {
    const bridge = await rec.rest('pbx', 'POST', '/bridges', { type: 'mixing', name: 'pbx-pool:pbx' });
    const bridgeId = bridge.body.id as string;
    for (const [i, number] of ['4930123474', '4930123475'].entries()) {
      const call = await inboundCall(rec, number, `+49170123458${i}`);
      const leg = `reuse-leg-${i}`;
      // as the controller originates a leg: naming the caller's identity, or none (anonymous)
      const callerId: Record<string, string> = i === 0 ? { callerId: `+49170123458${i}` } : {};
      await rec.rest(
        'pbx',
        'POST',
        '/channels',
        {
          endpoint: 'Local/desk-r@lab-devices',
          app: 'pbx',
          appArgs: 'leg',
          channelId: leg,
          otherChannelId: `${leg};2`,
          ...callerId,
        },
        { variables: { PBX_CALL: `${call.pbx}:wp-${i}` } },
      );
      const far = await rec.waitFor((e) => e.type === 'StasisStart' && e.channel?.id === `${leg};2`);
      await rec.rest('world', 'POST', `/channels/${far.channel.id}/answer`);
      await rec.waitFor((e) => e.type === 'StasisStart' && e.channel?.id === leg);
      await rec.rest('pbx', 'GET', `/channels/${leg}/variable`, { variable: 'PBX_CALL' });
      await rec.rest('pbx', 'POST', `/channels/${call.pbx}/answer`);
      await rec.rest('pbx', 'POST', `/bridges/${bridgeId}/addChannel`, { channel: `${call.pbx},${leg}` });
      await rec.waitFor(
        (e) => e.type === 'ChannelEnteredBridge' && e.channel?.id === leg && e.bridge?.id === bridgeId,
      );
      await rec.rest('pbx', 'GET', `/bridges/${bridgeId}`);
      // the caller hangs up; the controller hangs up the desk
      await rec.rest('world', 'DELETE', `/channels/${call.world}`);
      await rec.waitFor((e) => e.type === 'StasisEnd' && e.channel?.id === call.pbx);
      await rec.rest('pbx', 'DELETE', `/channels/${leg}`);
      await rec.waitFor((e) => e.type === 'ChannelDestroyed' && e.channel?.id === leg);
      await rec.settle(300);
      await rec.rest('pbx', 'GET', `/bridges/${bridgeId}`);
      await rec.rest('pbx', 'GET', '/applications/pbx');
    }
    await rec.rest('pbx', 'DELETE', `/bridges/${bridgeId}`);
    await rec.settle();
  },

  /** A caller whose ;1 half carries an accountcode (a desk phone's workplace id): does ;2 show it? */
  async 'originate-accountcode'(rec) {
    const caller = await rec.rest(
      'world',
      'POST',
      '/channels',
      { endpoint: 'Local/4930123472@from-trunk', app: 'labdriver', appArgs: 'caller', callerId: '4711' },
      { variables: { 'CHANNEL(accountcode)': 'wp-0001' } },
    );
    const name = (caller.body.name as string).replace(/;1$/, ';2');
    await rec.waitFor(stasisStart('pbx', name));
    await rec.rest('world', 'DELETE', `/channels/${caller.body.id}`);
    await rec.settle();
  },
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length ? wanted : Object.keys(SCENARIOS);
  const ast = await startLocalAsterisk({ e2e: true });
  try {
    // the shared traces' dialplan, next to the e2e one (extensions.conf includes that file)
    appendFileSync(join(ast.dir, 'etc', 'extensions-e2e.conf'), `\n${README_DIALPLAN}`);
    ast.cli('dialplan reload');
    for (const name of names) {
      const scenario = SCENARIOS[name];
      if (!scenario) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
      const rec = new Recorder(ast, name);
      await rec.connect();
      try {
        await scenario(rec);
      } finally {
        rec.close();
      }
      console.info(`${name}: ${rec.lines.length} lines → ${rec.write()}`);
    }
  } finally {
    await ast.close();
  }
}

await main();
