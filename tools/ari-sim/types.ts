/**
 * The simulator's shared shapes. Everything imports them and they import nothing of the
 * simulator: the world reaches bridges and media through SimBridges / SimMedia, which
 * bridges.ts and media.ts implement, so no two of those files import each other in a circle.
 */

export type ChanState = 'Down' | 'Ring' | 'Ringing' | 'Up';

export type EndpointBehaviour =
  | { kind: 'answer'; afterMs?: number }
  | { kind: 'busy'; afterMs?: number }
  | { kind: 'noanswer' }
  | { kind: 'unreachable'; afterMs?: number }
  | { kind: 'reject'; afterMs?: number }
  | { kind: 'allocation-failure' }
  | { kind: 'manual' };

export interface DialState {
  dialstring: string;
  timer?: NodeJS.Timeout;
  /** Originate: the app the channel enters once the far end answers. */
  pendingStasis?: { app: string; args: string[] };
}

/** A simulated channel. Kept (read-only) after destruction so the driver can answer heard()/hangupCause(). */
export interface Chan {
  id: string;
  name: string;
  endpoint: string;
  tech: string;
  state: ChanState;
  caller: { name: string; number: string };
  connected: { name: string; number: string };
  /** the identity an outbound channel was dialled with (what its INVITE's From/PAI carried) */
  dialledAs?: { name: string; number: string };
  accountcode: string;
  language: string;
  dialplan: { context: string; exten: string; priority: number; app_name: string; app_data: string };
  creationtime: string;
  vars: Map<string, string>;
  /** Applications told about this channel's events. */
  subs: Set<string>;
  stasisApp?: string;
  creatorApp?: string;
  localPeer?: Chan;
  localHalf?: 1 | 2;
  /** For a Local `;1` created with /channels/create: the reserved id of its `;2`. */
  localOtherId?: string;
  localSeq?: string;
  dialing?: DialState;
  bridge?: Bridge;
  hangingUp: boolean;
  destroyed: boolean;
  cause?: number;
  timers: Set<NodeJS.Timeout>;
  heard: string[];
  playbacks: Playback[];
  recording?: LiveRecording;
  waiters: Set<() => void>;
  behaviour?: EndpointBehaviour;
  outbound: boolean;
  /** Entered Stasis from the dialplan (Local ;2): after StasisEnd the dialplan ends with a soft hangup. */
  viaDialplan?: boolean;
  /** A Local half whose other half got a new connected line: Asterisk reports a ChannelCallerId as it goes. */
  callerIdChanged?: boolean;
}

export class SimHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.message ?? body.error));
  }
}
export function notFound(message: string): SimHttpError {
  return new SimHttpError(404, { message });
}

export interface Bridge {
  id: string;
  name: string;
  bridgeType: string;
  channels: Chan[];
  creationtime: string;
  /** Apps told about this bridge (any app that had a channel in it). */
  subs: Set<string>;
  playbacks: Playback[];
}

export interface Playback {
  id: string;
  media: string[];
  index: number;
  targetUri: string;
  channel?: Chan;
  bridge?: Bridge;
  language: string;
  state: 'queued' | 'playing' | 'done' | 'failed';
  timer?: NodeJS.Timeout;
}

export interface LiveRecording {
  name: string;
  format: string;
  ch: Chan;
  state: 'queued' | 'recording' | 'paused' | 'done' | 'canceled' | 'failed';
  startedAt: number;
  talkingMs: number;
  terminateOn: string;
  maxSilenceSec: number;
  maxTimer?: NodeJS.Timeout;
  silenceTimer?: NodeJS.Timeout;
  baseMs: number;
  baseTalkingMs: number;
}

export interface StoredRecording {
  name: string;
  format: string;
  file: string;
  durationMs: number;
  talkingMs: number;
}

/** What the world and the media ask of the bridges (bridges.ts). */
export interface SimBridges {
  readonly byId: Map<string, Bridge>;
  sendToSubs(b: Bridge, type: string, fields: Record<string, unknown>): void;
  leave(ch: Chan): void;
}

/** What the world and the bridges ask of the media (media.ts). */
export interface SimMedia {
  onBridgeDestroyed(b: Bridge): void;
  onDtmf(ch: Chan, digit: string): void;
  onHangup(ch: Chan): void;
}
