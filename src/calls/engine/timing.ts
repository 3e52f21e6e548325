/**
 * Controller-side timers. Asterisk (or the simulator) times media, dial timeouts and
 * recordings itself; these are the waits the controller owns. Tests shorten them.
 */
import { PIN_MAX_DIGITS } from '../../domain/pin.js';

export interface Timing {
  /** an answered external leg must press 1 within this time (answer confirmation) */
  confirmationMs: number;
  /** menus: waiting for the first digit after a prompt */
  menuTimeoutMs: number;
  /** PIN or number entry: waiting for the first digit */
  firstDigitTimeoutMs: number;
  /** PIN or number entry: waiting for the next digit */
  interDigitTimeoutMs: number;
  /** after the caller hung up mid-recording, how long to wait for RecordingFinished */
  recordingGraceMs: number;
  /** before a reconcile lists the app's channels, let in-flight StasisStart events arrive */
  reconcileGraceMs: number;
  /**
   * a bridge whose call is over returns to the pool once its channels are seen leaving it;
   * not seen within this time, it is destroyed instead (bridge-pool.ts)
   */
  bridgeSettleMs: number;
}

export const DEFAULT_TIMING: Timing = {
  confirmationMs: 10_000,
  menuTimeoutMs: 10_000,
  firstDigitTimeoutMs: 10_000,
  interDigitTimeoutMs: 5_000,
  recordingGraceMs: 5_000,
  reconcileGraceMs: 250,
  bridgeSettleMs: 10_000,
};

export function resolveTiming(overrides: Partial<Timing> | undefined): Timing {
  return { ...DEFAULT_TIMING, ...overrides };
}

/**
 * A PIN entry: `#` ends it, one digit more than the longest PIN is read so an over-long entry
 * is wrong rather than cut to size; the entry timers come from Timing.
 */
export function pinEntry(timing: Timing): {
  max: number;
  terminator: string;
  firstDigitTimeoutMs: number;
  interDigitTimeoutMs: number;
} {
  return {
    max: PIN_MAX_DIGITS + 1,
    terminator: '#',
    firstDigitTimeoutMs: timing.firstDigitTimeoutMs,
    interDigitTimeoutMs: timing.interDigitTimeoutMs,
  };
}
