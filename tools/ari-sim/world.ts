import type { Dialplan } from './dialplan.js';
import type { EventHub } from './hub.js';
import {
  SimHttpError,
  notFound,
  type Chan,
  type ChanState,
  type EndpointBehaviour,
  type SimBridges,
  type SimMedia,
} from './types.js';
import { asteriskTimestamp, causeText } from './util.js';

const KNOWN_TECHS = new Set(['PJSIP', 'SIP', 'IAX2', 'DAHDI']);
const DESTROYED_KEPT = 20_000;

export interface CreateOpts {
  endpoint: string;
  app?: string;
  appArgs?: string;
  callerId?: string;
  channelId?: string;
  otherChannelId?: string;
  originate: boolean;
  timeoutSec?: number;
  variables?: Record<string, string>;
}

/**
 * Channels and their lifecycle: creation (Local pairs and driver-controlled endpoints), Stasis
 * entry/exit, dial/ring/answer, hangup with causes — emitting events in the order Asterisk 22 does.
 */
export class World {
  readonly channels = new Map<string, Chan>();
  /** Recently destroyed channels, for the driver (bounded). */
  readonly destroyed = new Map<string, Chan>();
  bridges!: SimBridges;
  media!: SimMedia;
  onOutbound?: (ch: Chan) => void;
  behaviourFor: (endpoint: string) => EndpointBehaviour = () => ({ kind: 'noanswer' });
  /** Real ms between a /channels/create answer and the channel's StasisStart (Asterisk: a few ms). */
  createToStasisMs = 2;
  /** Asterisk's global variables (POST /asterisk/variable; the dialplan reads them) */
  readonly globals = new Map<string, string>();
  /** Dial() lines the dialplan ran (emergency and social numbers), in order */
  readonly dialplanDials: Array<{ channelId: string; dial: string; callerNumber: string }> = [];
  private seq = 0;
  private nameSeq = 0x20;

  constructor(
    readonly hub: EventHub,
    readonly dialplan: Dialplan,
    readonly timeScale: number,
  ) {}

  newChannelId(): string {
    return `${Math.floor(Date.now() / 1000)}.${this.seq++}`;
  }
  private nextNameSeq(): string {
    return (this.nameSeq++).toString(16).padStart(8, '0');
  }

  /** setTimeout scaled by timeScale, owned by the channel (cleared when it is destroyed). */
  after(ch: Chan | undefined, simMs: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(
      () => {
        ch?.timers.delete(t);
        fn();
      },
      Math.max(0, simMs * this.timeScale),
    );
    ch?.timers.add(t);
    return t;
  }

  get(id: string): Chan {
    const ch = this.channels.get(id);
    if (!ch) throw notFound('Channel not found');
    return ch;
  }
  requireStasis(ch: Chan): void {
    if (!ch.stasisApp) throw new SimHttpError(409, { message: 'Channel not in Stasis application' });
  }

  json(ch: Chan): Record<string, unknown> {
    return {
      id: ch.id,
      name: ch.name,
      state: ch.state,
      protocol_id: '',
      caller: { ...ch.caller },
      connected: { ...ch.connected },
      accountcode: ch.accountcode,
      dialplan: { ...ch.dialplan },
      creationtime: ch.creationtime,
      language: ch.language,
    };
  }

  /** Sends a channel event to every app subscribed to the channel. */
  emit(
    ch: Chan,
    type: string,
    fields: Record<string, unknown> = {},
    key: 'channel' | 'peer' = 'channel',
  ): void {
    if (ch.subs.size === 0 && this.hub.subscribeAll.size === 0) return;
    const body = { ...fields, [key]: this.json(ch) };
    for (const app of this.hub.targets(ch.subs)) this.hub.send(app, type, body);
  }

  notify(ch: Chan): void {
    for (const w of [...ch.waiters]) w();
  }

  private newChan(
    id: string,
    name: string,
    endpoint: string,
    tech: string,
    state: ChanState,
    number: string,
  ): Chan {
    if (this.channels.has(id))
      throw new SimHttpError(409, { message: 'Channel with given unique ID already exists' });
    const ch: Chan = {
      id,
      name,
      endpoint,
      tech,
      state,
      caller: { name: '', number },
      connected: { name: '', number },
      accountcode: '',
      language: 'en',
      dialplan: { context: 'default', exten: 's', priority: 1, app_name: '', app_data: '' },
      creationtime: asteriskTimestamp(),
      vars: new Map(),
      subs: new Set(),
      hangingUp: false,
      destroyed: false,
      timers: new Set(),
      heard: [],
      playbacks: [],
      waiters: new Set(),
      outbound: false,
    };
    this.channels.set(id, ch);
    return ch;
  }

  setState(ch: Chan, state: ChanState): void {
    if (ch.state === state) return;
    ch.state = state;
    this.emit(ch, 'ChannelStateChange');
    this.notify(ch);
  }

  setVar(ch: Chan, variable: string, value: string): void {
    ch.vars.set(variable, value);
    this.emit(ch, 'ChannelVarset', { variable, value });
  }

  // ---------------------------------------------------------------- creation

  /** POST /channels, /channels/{id}, /channels/create. Returns the channel; `afterResponse` runs once the answer is sent. */
  create(opts: CreateOpts): { ch: Chan; afterResponse: () => void } {
    const slash = opts.endpoint.indexOf('/');
    const tech = slash > 0 ? opts.endpoint.slice(0, slash) : '';
    const resource = slash > 0 ? opts.endpoint.slice(slash + 1) : '';
    if (tech === 'Local') return this.createLocal(opts, resource);
    const behaviour = this.behaviourFor(opts.endpoint);
    if (!KNOWN_TECHS.has(tech) || !resource || behaviour.kind === 'allocation-failure') {
      throw new SimHttpError(500, { error: 'Allocation failed' });
    }
    const at = resource.indexOf('@');
    const device = (at >= 0 ? resource.slice(at + 1) : resource).split('/')[0]!;
    const id = opts.channelId || this.newChannelId();
    const ch = this.newChan(
      id,
      `${tech}/${device}-${this.nextNameSeq()}`,
      opts.endpoint,
      tech,
      'Down',
      opts.callerId ?? '',
    );
    ch.behaviour = behaviour;
    ch.outbound = true;
    this.applyVariables(ch, opts.variables);
    const app = opts.app;
    if (app) {
      ch.subs.add(app);
      ch.creatorApp = app;
    }
    const args = splitArgs(opts.appArgs);
    return {
      ch,
      afterResponse: () => {
        if (ch.hangingUp) return;
        this.onOutbound?.(ch);
        if (!app) return;
        if (opts.originate) {
          ch.dialing = { dialstring: resource, pendingStasis: { app, args } };
          this.emit(ch, 'Dial', { dialstatus: '', forward: '', dialstring: resource }, 'peer');
          this.armDialTimeout(ch, opts.timeoutSec ?? 30);
          this.startBehaviour(ch);
        } else {
          setTimeoutUnref(() => !ch.hangingUp && this.runStasisApp(ch, app, args), ch, this.createToStasisMs);
        }
      },
    };
  }

  private createLocal(opts: CreateOpts, resource: string): { ch: Chan; afterResponse: () => void } {
    const [target] = resource.split('/');
    const at = target!.lastIndexOf('@');
    const exten = at >= 0 ? target!.slice(0, at) : target!;
    const context = at >= 0 ? target!.slice(at + 1) : 'default';
    const seq = this.nextNameSeq();
    const base = `Local/${exten}@${context}-${seq}`;
    const id1 = opts.channelId || this.newChannelId();
    const id2 = opts.otherChannelId || this.newChannelId();
    if (this.channels.has(id2))
      throw new SimHttpError(409, { message: 'Channel with given unique ID already exists' });
    const ch1 = this.newChan(id1, `${base};1`, opts.endpoint, 'Local', 'Down', opts.callerId ?? '');
    ch1.localHalf = 1;
    ch1.localSeq = seq;
    ch1.localOtherId = id2;
    ch1.dialplan = { context, exten, priority: 1, app_name: '', app_data: '' };
    ch1.outbound = true;
    this.applyVariables(ch1, opts.variables);
    const app = opts.app;
    if (app) {
      ch1.subs.add(app);
      ch1.creatorApp = app;
    }
    const args = splitArgs(opts.appArgs);
    if (!opts.originate) {
      return {
        ch: ch1,
        afterResponse: () => {
          if (app)
            setTimeoutUnref(
              () => !ch1.hangingUp && this.runStasisApp(ch1, app, args),
              ch1,
              this.createToStasisMs,
            );
        },
      };
    }
    // Originate: the ;1 half dials ;2 at once ("AppDial2"); ;2 runs the dialplan; ;1 enters the app on answer.
    ch1.dialplan.app_name = 'AppDial2';
    ch1.dialplan.app_data = '(Outgoing Line)';
    const ch2 = this.makeLocalTwo(ch1);
    if (app) {
      ch2.subs.add(app);
      ch2.creatorApp = app;
    }
    const dialstring = `${exten}@${context}`;
    ch1.dialing = { dialstring, pendingStasis: app ? { app, args } : undefined };
    return {
      ch: ch1,
      afterResponse: () => {
        if (ch1.hangingUp) return;
        // ;2 gets ;1's variables (makeLocalTwo), each one a ChannelVarset (recorded: bridge-reuse)
        for (const [variable, value] of Object.entries(opts.variables ?? {}))
          if (ch2.vars.get(variable) === value) this.emit(ch2, 'ChannelVarset', { variable, value });
        // an originate naming a caller updates ;2's parties at once; one naming none does not
        if (opts.callerId) {
          this.emit(ch2, 'ChannelCallerId', {
            caller_presentation: 0,
            caller_presentation_txt: 'Presentation Allowed, Not Screened',
          });
          this.emit(ch2, 'ChannelConnectedLine');
        }
        this.emit(ch1, 'Dial', { dialstatus: '', forward: '', dialstring }, 'peer');
        this.armDialTimeout(ch1, opts.timeoutSec ?? 30);
        this.runDialplan(ch2);
      },
    };
  }

  /** The ;2 half: its caller ID is the ;1 half's connected line, its connected line the ;1 caller (core_unreal.c). */
  private makeLocalTwo(ch1: Chan): Chan {
    const ch2 = this.newChan(
      ch1.localOtherId!,
      ch1.name.replace(/;1$/, ';2'),
      ch1.endpoint,
      'Local',
      'Ring',
      ch1.connected.number,
    );
    ch2.caller = { ...ch1.connected };
    ch2.connected = { ...ch1.caller };
    ch2.localHalf = 2;
    ch2.dialplan = { ...ch1.dialplan, app_name: '', app_data: '' };
    // like Asterisk's ast_unreal_call_setup: ;2 gets ;1's channel variables (not its accountcode)
    ch2.vars = new Map(ch1.vars);
    ch1.localPeer = ch2;
    ch2.localPeer = ch1;
    return ch2;
  }

  /** Channel variables at create; CALLERID() and CONNECTEDLINE() write the channel's parties. */
  private applyVariables(ch: Chan, vars: Record<string, string> | undefined): void {
    for (const [k, v] of Object.entries(vars ?? {})) {
      if (k === 'CHANNEL(accountcode)') ch.accountcode = String(v);
      else if (!this.writeParty(ch, k, String(v))) ch.vars.set(k, String(v));
    }
  }

  /**
   * CALLERID(name|num|pres|all) and CONNECTEDLINE(...[,i]) as func_callerid writes them: the
   * channel's caller or connected party changes; a function write is no ChannelVarset.
   * Returns false for anything else (a plain variable).
   */
  writeParty(ch: Chan, variable: string, value: string): boolean {
    const m = /^(CALLERID|CONNECTEDLINE)\((name|num|pres|all)(,i)?\)$/.exec(variable);
    if (!m) return false;
    const party = m[1] === 'CALLERID' ? ch.caller : ch.connected;
    if (m[2] === 'name') party.name = value;
    else if (m[2] === 'num') party.number = value;
    else if (m[2] === 'all') {
      // "Name" <number> | Name <number> | number
      const all = /^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$/.exec(value);
      party.name = all ? all[1]!.trim() : '';
      party.number = all ? all[2]!.trim() : value.trim();
    } else if (value.startsWith('prohib')) {
      // a withheld identity reaches the far end without name and number
      party.name = '';
      party.number = '';
    }
    return true;
  }

  /** Stasis(app,args) run by a channel that was created for the app (ChannelDialplan, STASISSTATUS, StasisStart). */
  private runStasisApp(ch: Chan, app: string, args: string[]): void {
    const appData = [app, ...args].join(',');
    ch.dialplan.app_name = 'Stasis';
    ch.dialplan.app_data = appData;
    this.emit(ch, 'ChannelDialplan', { dialplan_app: 'Stasis', dialplan_app_data: appData });
    this.enterStasis(ch, app, args);
  }

  /** A Local `;2` (or driver-placed channel) runs the dialplan of its context/exten. */
  runDialplan(ch: Chan): void {
    const route = this.dialplan.route(ch.dialplan.context, ch.dialplan.exten, ch.vars, this.globals);
    if (!route) {
      this.hangup(ch, 1, false);
      return;
    }
    for (const { name, value } of route.sets) this.applyVariables(ch, { [name]: value });
    if (route.hangupCause !== undefined) {
      // a gate in front of the Stasis (the trunk's shedding): the channel never reaches the app
      ch.dialplan.app_name = 'GotoIf';
      ch.dialplan.app_data = route.gotoIfData ?? '';
      this.emit(ch, 'ChannelDialplan', { dialplan_app: 'GotoIf', dialplan_app_data: ch.dialplan.app_data });
      this.hangup(ch, route.hangupCause, false);
      return;
    }
    if (route.dial !== undefined) {
      // Dial() in the dialplan (emergency and social numbers): Asterisk calls out without any
      // application; the simulator records the dial string and leaves the caller up (the
      // driver hangs it up), as a call to the carrier that is still ringing
      ch.dialplan.app_name = 'Dial';
      ch.dialplan.app_data = route.dial;
      if (route.dialContext) {
        ch.dialplan.context = route.dialContext.context;
        ch.dialplan.exten = route.dialContext.exten;
      }
      this.emit(ch, 'ChannelDialplan', { dialplan_app: 'Dial', dialplan_app_data: route.dial });
      this.dialplanDials.push({ channelId: ch.id, dial: route.dial, callerNumber: ch.caller.number });
      return;
    }
    ch.dialplan.app_name = 'Stasis';
    ch.dialplan.app_data = route.appData;
    this.emit(ch, 'ChannelDialplan', { dialplan_app: 'Stasis', dialplan_app_data: route.appData });
    if (!this.hub.isActive(route.app)) {
      this.setVar(ch, 'STASISSTATUS', 'FAILED');
      this.hangup(ch, 16, false);
      return;
    }
    ch.viaDialplan = true;
    this.enterStasis(ch, route.app, route.args);
  }

  enterStasis(ch: Chan, app: string, args: string[]): void {
    ch.dialplan.app_name = 'Stasis';
    ch.dialplan.app_data = [app, ...args].join(',');
    this.setVar(ch, 'STASISSTATUS', '');
    ch.stasisApp = app;
    ch.subs.add(app);
    this.hub.app(app).channelIds.add(ch.id);
    this.hub.send(app, 'StasisStart', { args, channel: this.json(ch) });
    this.notify(ch);
  }

  exitStasis(ch: Chan): void {
    const app = ch.stasisApp;
    if (!app) return;
    this.hub.send(app, 'StasisEnd', { channel: this.json(ch) });
    ch.stasisApp = undefined;
    this.hub.apps.get(app)?.channelIds.delete(ch.id);
    if (ch.creatorApp !== app) ch.subs.delete(app);
  }

  /** Placed inbound call (driver): a trunk channel that enters Stasis(app,args) with exten = to. */
  placeInbound(opts: { from: string; to: string; app: string; args: string[]; name?: string }): Chan {
    if (!this.hub.isActive(opts.app))
      throw new Error(`Stasis application '${opts.app}' has no connected event socket`);
    const prefix = opts.name ?? 'PJSIP/trunk';
    const ch = this.newChan(
      this.newChannelId(),
      `${prefix}-${this.nextNameSeq()}`,
      prefix,
      prefix.split('/')[0]!,
      'Ring',
      opts.from,
    );
    ch.connected = { name: '', number: '' };
    ch.dialplan = { context: 'from-trunk', exten: opts.to, priority: 1, app_name: '', app_data: '' };
    this.enterStasis(ch, opts.app, opts.args);
    return ch;
  }

  // ---------------------------------------------------------------- dialling

  dial(ch: Chan, callerId: string | undefined, timeoutSec: number): void {
    this.requireStasis(ch);
    if (ch.dialing || ch.localPeer || ch.state === 'Up')
      throw new SimHttpError(409, { message: 'Channel is already dialed' });
    if (ch.localHalf === 2) throw new SimHttpError(409, { message: 'Channel is already dialed' });
    // Asterisk dials anyway when `caller` names no channel (204; rest-errors-controller.jsonl)
    const caller = callerId ? this.channels.get(callerId) : undefined;
    if (caller) {
      ch.connected = { ...caller.caller };
      this.emit(ch, 'ChannelConnectedLine');
    }
    const dialstring =
      ch.tech === 'Local'
        ? `${ch.dialplan.exten}@${ch.dialplan.context}`
        : ch.endpoint.slice(ch.endpoint.indexOf('/') + 1);
    ch.dialing = { dialstring };
    ch.dialledAs = { ...ch.connected };
    this.emit(ch, 'Dial', { dialstatus: '', forward: '', dialstring }, 'peer');
    this.armDialTimeout(ch, timeoutSec);
    if (ch.tech === 'Local') {
      const ch2 = this.makeLocalTwo(ch);
      this.after(ch, 0, () => {
        if (!ch2.hangingUp) this.runDialplan(ch2);
      });
    } else {
      this.startBehaviour(ch);
    }
  }

  private armDialTimeout(ch: Chan, timeoutSec: number): void {
    if (!ch.dialing || !(timeoutSec > 0)) return;
    ch.dialing.timer = this.after(ch, timeoutSec * 1000, () => {
      if (ch.dialing) this.hangup(ch, 19, true);
    });
  }

  private startBehaviour(ch: Chan): void {
    const b = ch.behaviour ?? { kind: 'noanswer' };
    const afterMs = 'afterMs' in b && b.afterMs !== undefined ? b.afterMs : undefined;
    switch (b.kind) {
      case 'answer':
        this.after(ch, 0, () => this.farRinging(ch));
        this.after(ch, afterMs ?? 50, () => this.farAnswer(ch));
        break;
      case 'busy':
        this.after(ch, afterMs ?? 0, () => this.hangup(ch, 17, false));
        break;
      case 'unreachable':
        this.after(ch, afterMs ?? 0, () => this.hangup(ch, 20, false));
        break;
      case 'reject':
        this.after(ch, 0, () => this.farRinging(ch));
        this.after(ch, afterMs ?? 50, () => this.hangup(ch, 21, false));
        break;
      case 'noanswer':
      case 'manual':
      case 'allocation-failure':
        this.after(ch, 0, () => this.farRinging(ch));
        break;
    }
  }

  /** The dialled far end rings: ChannelStateChange Ringing + Dial RINGING. */
  farRinging(ch: Chan): void {
    if (!ch.dialing || ch.hangingUp || ch.state === 'Ringing' || ch.state === 'Up') return;
    this.setState(ch, 'Ringing');
    this.emit(ch, 'Dial', { dialstatus: 'RINGING', forward: '', dialstring: ch.dialing.dialstring }, 'peer');
  }

  /** The dialled far end answers: Up + Dial ANSWER; an originated channel then enters its app. */
  farAnswer(ch: Chan): void {
    if (ch.hangingUp || ch.state === 'Up') return;
    const dialing = ch.dialing;
    if (dialing?.timer) {
      clearTimeout(dialing.timer);
      ch.timers.delete(dialing.timer);
    }
    ch.dialing = undefined;
    this.setState(ch, 'Up');
    if (dialing)
      this.emit(ch, 'Dial', { dialstatus: 'ANSWER', forward: '', dialstring: dialing.dialstring }, 'peer');
    if (dialing?.pendingStasis) this.enterStasis(ch, dialing.pendingStasis.app, dialing.pendingStasis.args);
  }

  // ---------------------------------------------------------------- REST-driven state

  answer(ch: Chan): void {
    this.requireStasis(ch);
    if (ch.state === 'Up') return;
    this.setState(ch, 'Up');
    if (ch.localHalf === 2 && ch.localPeer) this.farAnswer(ch.localPeer);
  }

  ring(ch: Chan): void {
    this.requireStasis(ch);
    if (ch.localHalf === 2 && ch.localPeer) this.farRinging(ch.localPeer);
  }

  /**
   * Hangs a channel up. `softRequest` = asked for (REST DELETE, dial timeout): the app sees
   * ChannelHangupRequest cause 32 soft; otherwise the far end hung up and it sees the cause.
   */
  hangup(ch: Chan, cause: number, softRequest: boolean): void {
    if (ch.hangingUp) return;
    ch.hangingUp = true;
    ch.cause = cause;
    const wasDialing = ch.dialing;
    if (wasDialing?.timer) clearTimeout(wasDialing.timer);
    ch.dialing = undefined;
    this.emit(ch, 'ChannelHangupRequest', softRequest ? { cause: 32, soft: true } : { cause });
    this.media.onHangup(ch);
    if (ch.bridge) this.bridges.leave(ch);
    const wasInStasis = ch.stasisApp !== undefined;
    this.exitStasis(ch);
    const peer = ch.localPeer;
    if (peer && !peer.hangingUp) this.hangup(peer, cause, false);
    if (wasInStasis) {
      this.setVar(ch, 'STASISSTATUS', 'SUCCESS');
      // Back in the dialplan after Stasis() returns, which then hangs the channel up.
      if (ch.viaDialplan) this.emit(ch, 'ChannelHangupRequest', { cause, soft: true });
    }
    if (wasDialing?.pendingStasis) {
      // An originate that never got answered reports how its dial ended.
      const dialstatus = cause === 17 ? 'BUSY' : cause === 20 || cause === 34 ? 'CHANUNAVAIL' : 'NOANSWER';
      this.emit(ch, 'Dial', { dialstatus, forward: '', dialstring: wasDialing.dialstring }, 'peer');
    }
    ch.dialplan.app_name = '';
    ch.dialplan.app_data = '';
    this.emit(ch, 'ChannelDestroyed', { cause, cause_txt: causeText(cause) });
    if (ch.callerIdChanged)
      this.emit(ch, 'ChannelCallerId', {
        caller_presentation: 0,
        caller_presentation_txt: 'Presentation Allowed, Not Screened',
      });
    this.destroy(ch);
  }

  private destroy(ch: Chan): void {
    ch.destroyed = true;
    for (const t of ch.timers) clearTimeout(t);
    ch.timers.clear();
    this.channels.delete(ch.id);
    ch.subs.clear();
    this.destroyed.set(ch.id, ch);
    if (this.destroyed.size > DESTROYED_KEPT) {
      const oldest = this.destroyed.keys().next().value;
      if (oldest !== undefined) this.destroyed.delete(oldest);
    }
    this.notify(ch);
  }

  /** DTMF arriving on a channel (from the far end): one ChannelDtmfReceived per digit. */
  dtmfReceived(ch: Chan, digit: string, durationMs: number): void {
    if (ch.hangingUp) return;
    this.emit(ch, 'ChannelDtmfReceived', { digit, duration_ms: durationMs });
    this.media.onDtmf(ch, digit);
  }

  /** POST /channels/{id}/dtmf: the digits go out to the far end — for a Local half, its peer receives them. */
  sendDtmf(ch: Chan, dtmf: string, beforeMs: number, betweenMs: number, durationMs: number): void {
    const target = ch.localPeer;
    if (!target) return;
    // Asterisk reports each digit when it ends: the first after `duration + between`, as the traces show.
    let at = beforeMs;
    for (const digit of dtmf) {
      at += durationMs + betweenMs;
      if (!/[0-9A-D*#]/i.test(digit)) continue;
      this.after(ch, at, () => this.dtmfReceived(target, digit, durationMs));
    }
  }

  move(ch: Chan, app: string, args: string[]): void {
    this.requireStasis(ch);
    this.exitStasis(ch);
    if (!this.hub.isActive(app)) {
      this.hangup(ch, 16, false);
      return;
    }
    this.enterStasis(ch, app, args);
  }

  continueInDialplan(ch: Chan, context?: string, exten?: string): void {
    this.requireStasis(ch);
    this.exitStasis(ch);
    if (context) ch.dialplan.context = context;
    if (exten) ch.dialplan.exten = exten;
    this.after(ch, 0, () => {
      if (!ch.hangingUp) this.runDialplan(ch);
    });
  }
}

/** A real-time (unscaled) timer owned by the channel. */
function setTimeoutUnref(fn: () => void, ch: Chan, ms: number): void {
  const t = setTimeout(() => {
    ch.timers.delete(t);
    fn();
  }, ms);
  ch.timers.add(t);
}

export function splitArgs(appArgs: string | undefined): string[] {
  return appArgs ? appArgs.split(',') : [];
}
