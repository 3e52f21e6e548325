import type { Bridge } from './bridges.js';
import type { Playback, LiveRecording } from './media.js';

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
