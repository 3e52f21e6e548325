import { readFileSync, existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Bridges } from './bridges.js';
import type { DynamicConfig } from './dynconfig.js';
import type { EventHub } from './hub.js';
import type { Media } from './media.js';
import { SimHttpError, notFound } from './types.js';
import { asteriskTimestamp, BoundedLog, HANGUP_REASONS } from './util.js';
import { splitArgs, type World } from './world.js';

export type Params = Record<string, string>;
export interface Reply {
  status: number;
  body?: unknown;
  raw?: { data: Buffer; contentType: string };
  /** Runs after the answer is written (Asterisk answers /channels/create before StasisStart). */
  after?: () => void;
}
interface Ctx {
  m: RegExpMatchArray;
  q: Params;
  body: unknown;
  /** `http://<Host header>` of the request. */
  origin: string;
}
type Handler = (c: Ctx) => Reply;

export interface RestDeps {
  world: World;
  bridges: Bridges;
  media: Media;
  hub: EventHub;
  dyn: DynamicConfig;
  apiDocsDir: string;
  username: string;
  password: string;
  restLog: BoundedLog<{ method: string; path: string; query: unknown; status: number }>;
}

const ok = (body?: unknown): Reply => (body === undefined ? { status: 204 } : { status: 200, body });
const noContent: Reply = { status: 204 };

function num(v: string | undefined, def: number, field: string): number {
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new SimHttpError(400, { message: `${field}: must be a number` });
  return n;
}
function required(q: Params, field: string): string {
  const v = q[field];
  if (v === undefined || v === '')
    throw new SimHttpError(400, { message: `${field}: required parameter is missing` });
  return v;
}
function bool(v: string | undefined): boolean {
  return v === 'true' || v === '1' || v === 'yes';
}

/** The ARI REST routes, like Asterisk 22 answers them (see /work/shared/ari traces). */
export function createRestHandler(d: RestDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { world, bridges, media, hub, dyn } = d;
  const routes: Array<[string, RegExp, Handler]> = [];
  const r = (method: string, path: string, h: Handler) =>
    routes.push([method, new RegExp('^' + path.replace(/\{\w+\}/g, '([^/]+)') + '$'), h]);

  const originate = (q: Params, body: unknown, create: boolean, channelId?: string): Reply => {
    const endpoint = required(q, 'endpoint');
    if (!create && !q.app && !q.extension)
      throw new SimHttpError(400, { message: 'Application or extension must be specified' });
    const variables = (body as { variables?: Record<string, string> } | undefined)?.variables;
    const { ch, afterResponse } = world.create({
      endpoint,
      app: q.app,
      appArgs: q.appArgs,
      callerId: q.callerId,
      channelId: channelId ?? q.channelId,
      otherChannelId: q.otherChannelId,
      originate: !create,
      timeoutSec: num(q.timeout, 30, 'timeout'),
      variables,
    });
    return { status: 200, body: world.json(ch), after: afterResponse };
  };

  // --- channels
  r('GET', '/channels', () => ok([...world.channels.values()].map((c) => world.json(c))));
  r('POST', '/channels', ({ q, body }) => originate(q, body, false));
  r('POST', '/channels/create', ({ q, body }) => originate(q, body, true));
  r('GET', '/channels/{id}', ({ m }) => ok(world.json(world.get(m[1]!))));
  r('POST', '/channels/{id}', ({ m, q, body }) => originate(q, body, false, m[1]!));
  r('DELETE', '/channels/{id}', ({ m, q }) => {
    const ch = world.get(m[1]!);
    let cause = 16;
    if (q.reason_code !== undefined && q.reason_code !== '') cause = num(q.reason_code, 16, 'reason_code');
    else if (q.reason) {
      const c = HANGUP_REASONS[q.reason];
      if (c === undefined) throw new SimHttpError(400, { message: 'Invalid reason for hangup provided' });
      cause = c;
    }
    return { status: 204, after: () => world.hangup(ch, cause, true) };
  });
  r('POST', '/channels/{id}/answer', ({ m }) => {
    world.answer(world.get(m[1]!));
    return noContent;
  });
  r('POST', '/channels/{id}/ring', ({ m }) => {
    world.ring(world.get(m[1]!));
    return noContent;
  });
  r('DELETE', '/channels/{id}/ring', ({ m }) => {
    world.requireStasis(world.get(m[1]!));
    return noContent;
  });
  r('POST', '/channels/{id}/dial', ({ m, q }) => {
    world.dial(world.get(m[1]!), q.caller, num(q.timeout, 0, 'timeout'));
    return noContent;
  });
  r('POST', '/channels/{id}/dtmf', ({ m, q }) => {
    const ch = world.get(m[1]!);
    world.requireStasis(ch);
    const dtmf = required(q, 'dtmf');
    world.sendDtmf(
      ch,
      dtmf,
      num(q.before, 0, 'before'),
      num(q.between, 100, 'between'),
      num(q.duration, 100, 'duration'),
    );
    return noContent;
  });
  const play = (m: RegExpMatchArray, q: Params, playbackId?: string): Reply => {
    const ch = world.get(m[1]!);
    world.requireStasis(ch);
    const pb = media.create(
      { channel: ch },
      required(q, 'media').split(','),
      q.lang,
      playbackId ?? q.playbackId,
    );
    return { status: 201, body: media.json(pb), after: () => media.kick(ch) };
  };
  r('POST', '/channels/{id}/play', ({ m, q }) => play(m, q));
  r('POST', '/channels/{id}/play/{pid}', ({ m, q }) => play(m, q, m[2]!));
  r('POST', '/channels/{id}/record', ({ m, q }) => {
    const ch = world.get(m[1]!);
    const rec = media.record(ch, {
      name: q.name,
      format: q.format,
      maxDurationSeconds: num(q.maxDurationSeconds, 0, 'maxDurationSeconds'),
      maxSilenceSeconds: num(q.maxSilenceSeconds, 0, 'maxSilenceSeconds'),
      ifExists: q.ifExists ?? 'fail',
      beep: bool(q.beep),
      terminateOn: q.terminateOn ?? 'none',
    });
    return { status: 201, body: media.liveJson(rec) };
  });
  r('GET', '/channels/{id}/variable', ({ m, q }) => {
    const ch = world.get(m[1]!);
    const name = q.variable;
    if (!name) throw new SimHttpError(400, { message: 'Variable name is required' });
    const builtin: Record<string, string> = {
      'CALLERID(num)': ch.caller.number,
      'CALLERID(name)': ch.caller.name,
      EXTEN: ch.dialplan.exten,
      CONTEXT: ch.dialplan.context,
    };
    const value = ch.vars.get(name) ?? builtin[name];
    if (value === undefined) throw notFound('Provided variable was not found');
    return ok({ value });
  });
  r('POST', '/channels/{id}/variable', ({ m, q }) => {
    const ch = world.get(m[1]!);
    if (!q.variable) throw new SimHttpError(400, { message: 'Variable name is required' });
    if (world.writeParty(ch, q.variable, q.value ?? '')) {
      if (q.variable.startsWith('CALLERID('))
        world.emit(ch, 'ChannelCallerId', {
          caller_presentation: 0,
          caller_presentation_txt: 'Presentation Allowed, Not Screened',
        });
    } else world.setVar(ch, q.variable, q.value ?? '');
    return noContent;
  });
  r('POST', '/channels/{id}/move', ({ m, q }) => {
    const ch = world.get(m[1]!);
    world.move(ch, required(q, 'app'), splitArgs(q.appArgs));
    return noContent;
  });
  r('POST', '/channels/{id}/continue', ({ m, q }) => {
    world.continueInDialplan(world.get(m[1]!), q.context, q.extension);
    return noContent;
  });
  for (const op of ['hold', 'moh', 'silence', 'mute']) {
    r('POST', `/channels/{id}/${op}`, ({ m }) => (world.requireStasis(world.get(m[1]!)), noContent));
    r('DELETE', `/channels/{id}/${op}`, ({ m }) => (world.requireStasis(world.get(m[1]!)), noContent));
  }

  // --- bridges
  r('GET', '/bridges', () => ok([...bridges.byId.values()].map((b) => bridges.json(b))));
  r('POST', '/bridges', ({ q }) => ok(bridges.json(bridges.create(q.type, q.bridgeId, q.name))));
  r('POST', '/bridges/{id}', ({ m, q }) => ok(bridges.json(bridges.create(q.type, m[1]!, q.name))));
  r('GET', '/bridges/{id}', ({ m }) => ok(bridges.json(bridges.get(m[1]!))));
  r('DELETE', '/bridges/{id}', ({ m }) => {
    bridges.destroy(bridges.get(m[1]!));
    return noContent;
  });
  r('POST', '/bridges/{id}/addChannel', ({ m, q }) => {
    const b = bridges.get(m[1]!);
    bridges.addChannels(b, required(q, 'channel').split(','));
    return noContent;
  });
  r('POST', '/bridges/{id}/removeChannel', ({ m, q }) => {
    const b = bridges.get(m[1]!);
    bridges.removeChannels(b, required(q, 'channel').split(','));
    return noContent;
  });
  const bridgePlay = (m: RegExpMatchArray, q: Params, playbackId?: string): Reply => {
    const b = bridges.get(m[1]!);
    const pb = media.create(
      { bridge: b },
      required(q, 'media').split(','),
      q.lang,
      playbackId ?? q.playbackId,
    );
    return { status: 201, body: media.json(pb), after: () => media.kick(b) };
  };
  r('POST', '/bridges/{id}/play', ({ m, q }) => bridgePlay(m, q));
  r('POST', '/bridges/{id}/play/{pid}', ({ m, q }) => bridgePlay(m, q, m[2]!));
  r('POST', '/bridges/{id}/moh', ({ m }) => (bridges.get(m[1]!), noContent));
  r('DELETE', '/bridges/{id}/moh', ({ m }) => (bridges.get(m[1]!), noContent));

  // --- playbacks
  r('GET', '/playbacks/{id}', ({ m }) => ok(media.json(media.get(m[1]!))));
  r('DELETE', '/playbacks/{id}', ({ m }) => {
    const pb = media.get(m[1]!);
    return { status: 204, after: () => media.finish(pb) };
  });
  r('POST', '/playbacks/{id}/control', ({ m, q }) => {
    media.control(media.get(m[1]!), required(q, 'operation'));
    return noContent;
  });

  // --- recordings
  r('GET', '/recordings/stored', () => ok([...media.stored.values()].map((s) => media.storedJson(s))));
  r('GET', '/recordings/stored/{name}', ({ m }) => ok(media.storedJson(media.storedGet(m[1]!))));
  r('DELETE', '/recordings/stored/{name}', ({ m }) => {
    media.storedDelete(m[1]!);
    return noContent;
  });
  r('GET', '/recordings/stored/{name}/file', ({ m }) => ({
    status: 200,
    raw: { data: media.storedFile(m[1]!), contentType: 'audio/wav' },
  }));
  r('POST', '/recordings/stored/{name}/copy', ({ m, q }) =>
    ok(media.storedJson(media.storedCopy(m[1]!, q.destinationRecordingName))),
  );
  r('GET', '/recordings/live/{name}', ({ m }) => ok(media.liveJson(media.liveGet(m[1]!))));
  r('DELETE', '/recordings/live/{name}', ({ m }) => {
    const rec = media.liveGet(m[1]!);
    return { status: 204, after: () => media.end(rec, 'canceled') };
  });
  r('POST', '/recordings/live/{name}/stop', ({ m }) => {
    const rec = media.liveGet(m[1]!);
    return { status: 204, after: () => media.end(rec, 'done') };
  });
  for (const op of ['pause', 'mute']) {
    r('POST', `/recordings/live/{name}/${op}`, ({ m }) => (media.liveGet(m[1]!), noContent));
    r('DELETE', `/recordings/live/{name}/${op}`, ({ m }) => (media.liveGet(m[1]!), noContent));
  }

  // --- applications
  const appGet = (name: string) => {
    const app = hub.apps.get(name);
    if (!app) throw notFound('Application not found');
    return app;
  };
  r('GET', '/applications', () => ok([...hub.apps.values()].map((a) => hub.appJson(a))));
  r('GET', '/applications/{app}', ({ m }) => ok(hub.appJson(appGet(m[1]!))));
  const subscription =
    (add: boolean): Handler =>
    ({ m, q }) => {
      const app = appGet(m[1]!);
      for (const src of required(q, 'eventSource').split(',')) {
        const [kind, id = ''] = src.split(':');
        if (kind === 'channel') {
          const ch = world.get(id);
          if (add) ch.subs.add(app.name);
          else ch.subs.delete(app.name);
        } else if (kind === 'bridge') {
          const b = bridges.get(id);
          if (add) b.subs.add(app.name);
          else b.subs.delete(app.name);
        } else if (kind === 'endpoint') {
          if (add) app.endpointIds.add(id);
          else app.endpointIds.delete(id);
        } else if (kind === 'deviceState') {
          if (add) app.deviceNames.add(id);
          else app.deviceNames.delete(id);
        } else throw new SimHttpError(400, { message: `Invalid event source '${src}'` });
      }
      return ok(hub.appJson(app));
    };
  // Asterisk's rules (res/stasis/app.c app_event_filter_set): an empty object (or no body)
  // clears both lists; otherwise only the lists present are replaced; a list that is not an
  // array, or an entry without a `type`, is 400 "Invalid format definition"
  r('PUT', '/applications/{app}/eventFilter', ({ m, body }) => {
    const app = appGet(m[1]!);
    const invalid = () => new SimHttpError(400, { message: 'Invalid format definition' });
    const filter = body === undefined || body === null ? {} : body;
    if (typeof filter !== 'object' || Array.isArray(filter)) throw invalid();
    const f = filter as Record<string, unknown>;
    const parse = (key: 'allowed' | 'disallowed'): string[] | undefined => {
      if (Object.keys(f).length === 0) return [];
      const list = f[key];
      if (list === undefined) return undefined;
      if (!Array.isArray(list)) throw invalid();
      return list.map((item) => {
        const type = (item as { type?: unknown } | null)?.type;
        if (typeof type !== 'string' || type === '') throw invalid();
        return type;
      });
    };
    const disallowed = parse('disallowed');
    const allowed = parse('allowed');
    if (disallowed) app.eventsDisallowed = disallowed;
    if (allowed) app.eventsAllowed = allowed;
    return ok(hub.appJson(app));
  });
  r('POST', '/applications/{app}/subscription', subscription(true));
  r('DELETE', '/applications/{app}/subscription', subscription(false));

  // --- asterisk
  const globals = world.globals;
  r('GET', '/asterisk/info', () =>
    ok({
      build: {
        os: 'Linux',
        kernel: 'sim',
        machine: 'x86_64',
        options: '',
        date: '2026-11-01',
        user: 'ari-sim',
      },
      system: { version: '22.10.1', entity_id: '02:fc:00:00:00:01' },
      config: { name: 'ari-sim', default_language: 'en', setid: { user: 'asterisk', group: 'asterisk' } },
      status: { startup_time: startup, last_reload_time: startup },
    }),
  );
  const startup = asteriskTimestamp();
  r('GET', '/asterisk/ping', () =>
    ok({ asterisk_id: '02:fc:00:00:00:01', ping: 'pong', timestamp: asteriskTimestamp() }),
  );
  const modules = [
    'res_ari',
    'res_stasis',
    'res_pjsip',
    'res_sorcery_astdb',
    'app_stasis',
    'chan_pjsip',
    'res_stasis_recording',
    'res_stasis_playback',
  ];
  const moduleJson = (name: string) => ({
    name: `${name}.so`,
    description: name,
    use_count: 0,
    status: 'Running',
    support_level: 'core',
  });
  r('GET', '/asterisk/modules', () => ok(modules.map(moduleJson)));
  r('GET', '/asterisk/modules/{name}', ({ m }) => {
    const name = m[1]!.replace(/\.so$/, '');
    if (!modules.includes(name)) throw notFound('Module could not be found in running modules');
    return ok(moduleJson(name));
  });
  r('GET', '/asterisk/variable', ({ q }) => ok({ value: globals.get(required(q, 'variable')) ?? '' }));
  r('POST', '/asterisk/variable', ({ q }) => {
    globals.set(required(q, 'variable'), q.value ?? '');
    return noContent;
  });
  r('GET', '/asterisk/config/dynamic/{c}/{t}/{id}', ({ m }) => dyn.get(m[1]!, m[2]!, m[3]!) as Reply);
  r(
    'PUT',
    '/asterisk/config/dynamic/{c}/{t}/{id}',
    ({ m, body }) => dyn.put(m[1]!, m[2]!, m[3]!, body) as Reply,
  );
  r('DELETE', '/asterisk/config/dynamic/{c}/{t}/{id}', ({ m }) => dyn.delete(m[1]!, m[2]!, m[3]!) as Reply);

  // --- endpoints
  const endpointJson = (id: string) => dyn.endpointJson(id);
  r('GET', '/endpoints', () => ok(dyn.endpointIds().map(endpointJson)));
  r('GET', '/endpoints/{tech}', ({ m }) => ok(m[1] === 'PJSIP' ? dyn.endpointIds().map(endpointJson) : []));
  r('GET', '/endpoints/{tech}/{res}', ({ m }) => {
    if (m[1] !== 'PJSIP' || !dyn.hasEndpoint(m[2]!)) throw notFound('Endpoint not found');
    return ok(endpointJson(m[2]!));
  });
  r('GET', '/sounds', () => ok([]));

  // --- api docs
  r('GET', '/api-docs/{file}', ({ m, origin }) => {
    const file = join(d.apiDocsDir, m[1]!);
    if (!/^[a-zA-Z]+\.json$/.test(m[1]!) || !existsSync(file)) throw notFound('Not found');
    // Asterisk points basePath at the address the client used.
    const text = readFileSync(file, 'utf8').replace(/"basePath":\s*"[^"]*"/, `"basePath": "${origin}/ari"`);
    return { status: 200, raw: { data: Buffer.from(text), contentType: 'application/json' } };
  });

  const expected = 'Basic ' + Buffer.from(`${d.username}:${d.password}`).toString('base64');
  const authorized = (req: IncomingMessage, q: Params) =>
    req.headers.authorization === expected || q.api_key === `${d.username}:${d.password}`;

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const q: Params = {};
    for (const [k, v] of url.searchParams) q[k] = v;
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = url.pathname.replace(/^\/ari/, '');
      const send = (reply: Reply) => {
        d.restLog.push({ method, path, query: q, status: reply.status });
        if (reply.raw) {
          res.writeHead(reply.status, {
            'content-type': reply.raw.contentType,
            'content-length': reply.raw.data.length,
          });
          res.end(reply.raw.data);
        } else if (reply.body === undefined || reply.status === 204) {
          res.writeHead(reply.status);
          res.end();
        } else {
          const data = JSON.stringify(reply.body);
          res.writeHead(reply.status, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(data),
          });
          res.end(data);
        }
        if (reply.after) setImmediate(reply.after);
      };
      try {
        if (!url.pathname.startsWith('/ari/')) throw notFound('Not found');
        if (!authorized(req, q)) {
          res.setHeader('WWW-Authenticate', 'Basic realm="Asterisk REST Interface"');
          return send({ status: 401, body: { error: 'Authentication required' } });
        }
        delete q.api_key;
        let body: unknown;
        if (chunks.length) {
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            throw new SimHttpError(400, { message: 'Request body is not valid JSON' });
          }
          // Like Asterisk, scalar fields of a JSON body are accepted as parameters.
          if (body && typeof body === 'object' && !Array.isArray(body)) {
            for (const [k, v] of Object.entries(body))
              if (
                q[k] === undefined &&
                (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
              )
                q[k] = String(v);
          }
        }
        let pathMatched = false;
        for (const [rm, re, h] of routes) {
          const m = path.match(re);
          if (!m) continue;
          pathMatched = true;
          if (rm !== method) continue;
          for (let i = 1; i < m.length; i++) {
            try {
              m[i] = decodeURIComponent(m[i]!);
            } catch {
              throw new SimHttpError(400, { message: `Malformed path segment '${m[i]}'` });
            }
          }
          return send(h({ m, q, body, origin: `http://${req.headers.host ?? 'localhost'}` }));
        }
        if (pathMatched) return send({ status: 405, body: { message: 'Method not allowed' } });
        // res/res_ari.c ast_ari_invoke: no handler for a path segment
      throw notFound('Resource not found');
      } catch (err) {
        if (err instanceof SimHttpError) return send({ status: err.status, body: err.body });
        send({ status: 500, body: { message: `Internal error: ${(err as Error).message}` } });
      }
    });
  };
}
