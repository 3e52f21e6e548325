/**
 * Replays the twelve scenarios recorded on a real Asterisk 22.10.1 (/work/shared/ari/traces),
 * and those recorded since by test/ari-sim/record.ts (test/ari-sim/traces/), against the simulator: the REST requests of both actors (world + pbx) in their recorded order,
 * each sent once the events it could depend on have arrived; then compares REST status codes and
 * bodies (shape + messages), and per application the event types, their order per object
 * (channel, playback, recording, bridge) — for `pbx` also the whole sequence — and the events'
 * field shapes.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAriSimulator, type AriSimulator } from '../../tools/ari-sim/index.js';
import { README_DIALPLAN, TestAri, type AriEvent } from './helpers.js';

const TRACE_DIR = '/work/shared/ari/traces';
const OWN_TRACE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'traces');
const jsonl = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.jsonl'))
        .sort()
        .map((f) => join(dir, f))
    : [];
const sharedFiles = jsonl(TRACE_DIR);
const files = [...sharedFiles, ...jsonl(OWN_TRACE_DIR)];

interface RestLine {
  kind: 'rest';
  t: number;
  actor: 'pbx' | 'world';
  method: string;
  path: string;
  query: Record<string, string | number | boolean>;
  requestBody?: unknown;
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}
interface EventLine {
  kind: 'event';
  t: number;
  app: string;
  event: AriEvent;
}
type Line = RestLine | EventLine;

/** Recursively compares key sets and value types; ids/timestamps are only type-checked. Returns differences. */
export function shapeDiff(expected: unknown, actual: unknown, path = '$'): string[] {
  const kind = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
  if (kind(expected) !== kind(actual)) return [`${path}: expected ${kind(expected)}, got ${kind(actual)}`];
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length)
      return [`${path}: expected ${expected.length} items, got ${actual.length}`];
    return expected.flatMap((e, i) => shapeDiff(e, actual[i], `${path}[${i}]`));
  }
  if (kind(expected) === 'object') {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const diffs: string[] = [];
    for (const k of Object.keys(e)) if (!(k in a)) diffs.push(`${path}.${k}: missing`);
    for (const k of Object.keys(a)) if (!(k in e)) diffs.push(`${path}.${k}: unexpected`);
    for (const k of Object.keys(e)) if (k in a) diffs.push(...shapeDiff(e[k], a[k], `${path}.${k}`));
    return diffs;
  }
  return [];
}

function objectKey(e: AriEvent): string {
  if (e.channel) return `channel:${e.channel.id}`;
  if (e.peer) return `channel:${e.peer.id}`;
  if (e.playback) return `playback:${e.playback.id}`;
  if (e.recording) return `recording:${e.recording.name}`;
  if (e.bridge) return `bridge:${e.bridge.id}`;
  return e.type;
}

function loadTrace(file: string) {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const body: Line[] = lines.filter((l) => l.kind !== 'meta');
  // Channels of this scenario: created by its REST calls, plus the ;2 halves of those Local channels.
  const ids = new Set<string>();
  const names = new Map<string, string>();
  const pbxCreated = new Set<string>();
  for (const l of body) {
    if (
      l.kind === 'rest' &&
      l.method === 'POST' &&
      /^\/channels(\/create)?$/.test(l.path) &&
      l.status === 200
    ) {
      ids.add(l.body.id);
      names.set(l.body.name.replace(/;1$/, ';2'), l.body.id);
      if (l.actor === 'pbx') pbxCreated.add(l.body.id);
    }
  }
  const otherOf = new Map<string, string>();
  for (const l of body) {
    const ch = l.kind === 'event' ? (l.event.channel ?? l.event.peer) : undefined;
    if (ch && names.has(ch.name) && ch.id !== names.get(ch.name)) {
      ids.add(ch.id);
      otherOf.set(names.get(ch.name)!, ch.id);
    }
  }
  // Events about channels of earlier scenarios (the recording Asterisk still had some) are not part of this one.
  const relevant = body.filter((l) => {
    if (l.kind !== 'event') return true;
    const ch = l.event.channel ?? l.event.peer;
    return !ch || ids.has(ch.id);
  });
  // the ;2 halves of Local channels the controller created (subscribed when it names them)
  const pbxLegHalves = new Set([...pbxCreated].flatMap((id) => otherOf.get(id) ?? []));
  return { lines: relevant, otherOf, pbxLegHalves };
}

const counts = (events: Array<{ app: string; e: AriEvent }>, map: (id: string) => string) => {
  const m = new Map<string, number>();
  for (const { app, e } of events) {
    const k = `${app}|${e.type}|${map(objectKey(e))}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
};

describe.skipIf(sharedFiles.length === 0)('trace replays against the simulator', () => {
  let sim: AriSimulator;
  beforeAll(async () => {
    sim = await startAriSimulator({
      dialplan: README_DIALPLAN,
      timeScale: 0.1,
      // Media long enough that a recorded stop still finds the playback playing (0.2 s real),
      // short enough that waiting for its end stays within the replay's grace time.
      // A prompt the recording Asterisk did not have fails (playback-failures.jsonl).
      // The prompt playback-failures.jsonl hangs up on plays longer: the replay's wait for events
      // the hangup itself causes (250 ms) must not outlast it.
      mediaDurationMs: (media) =>
        media.includes('no-such-prompt') ? 'missing' : media.includes('vb-unavailable') ? 6000 : 2000,
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('has all twelve shared traces', () => {
    expect(sharedFiles).toHaveLength(12);
  });

  it.each(files.map((f) => [basename(f), f]))('%s', async (_name, file) => {
    const { lines, otherOf, pbxLegHalves } = loadTrace(file);
    const client = new TestAri(sim.url, 'pbx,labdriver');
    await client.connect();
    const idMap = new Map<string, string>();
    const mapId = (key: string) => {
      const [kind, id] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
      return idMap.has(id) ? `${kind}:${idMap.get(id)}` : key;
    };
    const simEvents = () => client.events.map((e) => ({ app: e.application, e }));
    const problems: string[] = [];
    let compared = 0;

    /** Waits until the simulator has sent every event the trace shows before line `upTo` (or a short grace time passed). */
    const waitForPrefix = async (upTo: number, graceMs: number) => {
      const want = counts(
        lines.slice(0, upTo).flatMap((l) => (l.kind === 'event' ? [{ app: l.app, e: l.event }] : [])),
        (k) => k,
      );
      const satisfied = () => {
        const have = counts(simEvents(), (k) => k);
        for (const [k, n] of want) if ((have.get(k) ?? 0) < n) return false;
        return true;
      };
      const deadline = Date.now() + graceMs;
      while (!satisfied() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    };

    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.kind !== 'rest') continue;
      await waitForPrefix(i, 250);
      const query: Record<string, string | number | boolean> = { ...line.query };
      // Keep the recorded ids so later requests and events line up.
      if (line.method === 'POST' && /^\/channels(\/create)?$/.test(line.path) && line.status === 200) {
        query.channelId = line.body.id;
        const other = otherOf.get(line.body.id);
        if (other) query.otherChannelId = other;
      }
      if (line.method === 'POST' && line.path === '/bridges' && line.status === 200)
        query.bridgeId = line.body.id;
      const path = line.path
        .split('/')
        .map((seg) => idMap.get(seg) ?? seg)
        .join('/');
      const res = await client.req(line.method, path, query, line.requestBody);
      const where = `${line.actor} ${line.method} ${line.path}`;
      if (res.status !== line.status)
        problems.push(
          `${where}: status ${res.status}, recorded ${line.status} (${JSON.stringify(res.body)})`,
        );
      const recorded = line.body;
      if (recorded && 'bytes' in recorded && 'contentType' in recorded) {
        if (
          recorded.contentType === 'audio/wav' &&
          !(typeof res.body === 'string' && res.body.startsWith('RIFF'))
        )
          problems.push(`${where}: expected a WAV body`);
        if (recorded.bytes === 0 && res.body !== undefined) problems.push(`${where}: expected an empty body`);
      } else if (Array.isArray(recorded) && recorded[0]?.attribute !== undefined) {
        const attrs = (b: Array<{ attribute: string }>) => b.map((f) => f.attribute).sort();
        if (JSON.stringify(attrs(recorded)) !== JSON.stringify(attrs(res.body ?? [])))
          problems.push(`${where}: attribute set differs`);
      } else {
        problems.push(...shapeDiff(recorded, res.body).map((d) => `${where}: body ${d}`));
        for (const k of ['message', 'error'])
          if (recorded?.[k] !== undefined && recorded[k] !== res.body?.[k])
            problems.push(`${where}: ${k} '${res.body?.[k]}', recorded '${recorded[k]}'`);
        if (recorded?.id && res.body?.id && recorded.id !== res.body.id) idMap.set(recorded.id, res.body.id);
      }
    }
    await waitForPrefix(lines.length, 1500);
    client.close();

    // Events: per app, the type sequence of every object, and the field shapes of each event.
    for (const app of ['pbx', 'labdriver']) {
      const byObject = (events: AriEvent[], map: (k: string) => string) => {
        const m = new Map<string, AriEvent[]>();
        for (const e of events) {
          const k = map(objectKey(e));
          m.set(k, [...(m.get(k) ?? []), e]);
        }
        return m;
      };
      const expectedEvents = lines.flatMap((l) => (l.kind === 'event' && l.app === app ? [l.event] : []));
      const actualEvents = client.events.filter((e) => e.application === app);
      const exp = byObject(expectedEvents, mapId);
      const act = byObject(actualEvents, (k) => k);
      for (const [key, evs] of exp) {
        const got = act.get(key) ?? [];
        const want = evs.map((e) => e.type);
        const have = got.map((e) => e.type);
        if (JSON.stringify(want) !== JSON.stringify(have)) {
          problems.push(
            `${app} ${key}: event order\n    recorded: ${want.join(', ')}\n    simulator: ${have.join(', ')}`,
          );
          continue;
        }
        evs.forEach((e, i) => {
          const diffs = shapeDiff(e, got[i]);
          if (diffs.length) problems.push(`${app} ${key} ${e.type}: ${diffs.join('; ')}`);
          if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/.test(got[i]!.timestamp))
            problems.push(`${app} ${e.type}: timestamp ${got[i]!.timestamp}`);
        });
      }
      compared += expectedEvents.length;
      // For the controller's app the whole sequence must match too, not only per object. The ;2
      // half of a Local leg it originated runs in a thread of its own: how its events interleave
      // with the others' is a race in Asterisk itself (bridge-reuse.jsonl recorded it both ways),
      // so those are left out here; their order per object is compared above.
      if (app === 'pbx') {
        const racing = new Set([...pbxLegHalves].flatMap((id) => [id, idMap.get(id) ?? id]));
        const sequence = (events: AriEvent[]) =>
          events
            .filter((e) => !racing.has(e.channel?.id ?? ''))
            .map((e) => e.type)
            .join(', ');
        const want = sequence(expectedEvents);
        const have = sequence(actualEvents);
        if (want !== have) problems.push(`pbx global order\n    recorded: ${want}\n    simulator: ${have}`);
      }
      for (const key of act.keys())
        if (!exp.has(key))
          problems.push(
            `${app} ${key}: events the trace does not have: ${act
              .get(key)!
              .map((e) => e.type)
              .join(', ')}`,
          );
    }
    expect(problems).toEqual([]);
    // Guard against a vacuous pass: every call scenario compares events.
    if (!['push-config-device.jsonl', 'rest-errors.jsonl'].includes(basename(file)))
      expect(compared).toBeGreaterThan(10);
  });
});

describe('shapeDiff', () => {
  it.each([
    [{ a: 1, b: { c: 'x' } }, { a: 2, b: { c: 'y' } }, []],
    [{ a: 1 }, { a: '1' }, ['$.a: expected number, got string']],
    [{ a: 1 }, {}, ['$.a: missing']],
    [{}, { z: 1 }, ['$.z: unexpected']],
    [{ l: [1, 2] }, { l: [1] }, ['$.l: expected 2 items, got 1']],
  ])('%j vs %j', (expected, actual, diffs) => {
    expect(shapeDiff(expected, actual)).toEqual(diffs);
  });
});
