/**
 * Re-adoption: what a controller does with the channels and bridges its Stasis application
 * still holds in Asterisk that no session of this process knows — after a restart (a new
 * process gets no StasisStart for them) or after the event socket came back.
 *
 * Asterisk keeps calls up while no controller listens, so nothing that was answered is dropped:
 * - an ANSWERED call is a bridge holding both parties whose call is told by Asterisk alone
 *   (live-calls.ts): a bridge created for the call is named `pbx-call:<remote>:<workplace>`; in
 *   a reused bridge (bridge-pool.ts, named `pbx-pool:<app>`) the peer leg carries the same in
 *   its PBX_CALL variable. A session is rebuilt for the remote party and the call is held again
 *   like any connected call — either side's hang-up ends the other, `*11` can pull it, and the
 *   live-call registry is written again under this controller;
 * - a bridge that lost one side while nobody listened: the other side is hung up (hang-up on
 *   either side ends the other) and the bridge destroyed;
 * - a caller that was LEAVING A VOICEBOX MESSAGE (a record of it is in the store, see
 *   voicebox.ts): the recording goes on; when it ends (the caller hangs up, `#`, silence) the
 *   message is stored. When the caller already hung up, the stored recording is found and the
 *   message stored;
 * - a call still being SET UP (ringing legs, a menu, a PIN prompt): cannot be resumed half-way,
 *   so the caller and its legs are hung up at once, never left ringing;
 * - anything else belongs to nothing and is hung up; an empty bridge (an earlier process's idle
 *   pooled bridge) is destroyed.
 *
 * Cold path only (runs after a connect): it lists Asterisk's channels and bridges once each.
 */
import type { Logger } from 'pino';
import { isNotFound } from '../ari/index.js';
import type { VoiceboxMessage } from '../domain/model.js';
import { isPooledBridgeName } from './bridge-pool.js';
import type { CallContext } from './context.js';
import { CALL_VARIABLE, parseCallBridgeName, parseCallTag } from './live-calls.js';
import type { Router } from './router.js';
import type { CallerChannel, CallSession } from './session.js';
import { bounded } from './store-writes.js';
import { storeMessage } from './voicebox.js';

export interface AdoptionResult {
  /** answered calls taken over (a session holds each again) */
  calls: number;
  /** voicebox recordings taken over or finished */
  recordings: number;
  /** channels hung up: calls in set-up, halves of broken calls, strays */
  hungUp: number;
  /** bridges destroyed (empty or broken) */
  bridges: number;
}

interface ChannelJson extends CallerChannel {
  state?: string;
}

/** How long the store may take to list this controller's recordings in progress. */
const STORE_LIST_TIMEOUT_MS = 2000;

/**
 * Adopts what `channelIds` / `bridgeIds` (owned by the app, unknown to every session) hold.
 * Channels the caller passes must not be claimed by a session meanwhile (the router refuses to
 * adopt a channel a session has).
 */
export async function adoptOrphans(
  ctx: CallContext,
  router: Router,
  orphans: { channelIds: string[]; bridgeIds: string[] },
  logger: Logger,
): Promise<AdoptionResult> {
  const { ari } = ctx;
  const result: AdoptionResult = { calls: 0, recordings: 0, hungUp: 0, bridges: 0 };
  const inRecordings = await bounded(
    ctx.store.recordingsInProgress.list(ctx.controllerId),
    STORE_LIST_TIMEOUT_MS,
    'recordings in progress',
  ).catch((err: unknown) => {
    logger.warn(
      { err },
      'adoption: recordings in progress unknown (store away); retried on the next reconcile',
    );
    return undefined;
  });
  if (orphans.channelIds.length === 0 && orphans.bridgeIds.length === 0 && !inRecordings?.length)
    return result;

  const [channels, bridges] = await Promise.all([
    orphans.channelIds.length > 0 ? ari.channels.list() : Promise.resolve([]),
    orphans.bridgeIds.length > 0 ? ari.bridges.list() : Promise.resolve([]),
  ]);
  const orphanChannels = new Set(orphans.channelIds);
  const channelById = new Map(
    (channels as unknown as ChannelJson[]).filter((c) => orphanChannels.has(c.id)).map((c) => [c.id, c]),
  );
  const handled = new Set<string>();
  const work: Array<Promise<unknown>> = [];
  const hangup = (channelId: string, why: string) => {
    handled.add(channelId);
    result.hungUp += 1;
    logger.info({ channelId, why }, 'adoption: channel hung up');
    work.push(
      ari.channels.hangup({ channelId, reason: 'normal' }).catch((err: unknown) => {
        if (!isNotFound(err)) logger.warn({ err, channelId }, 'adoption: hangup failed');
      }),
    );
  };
  const destroyBridge = (bridgeId: string) => {
    result.bridges += 1;
    work.push(
      ari.bridges.destroy({ bridgeId }).catch((err: unknown) => {
        if (!isNotFound(err)) logger.warn({ err, bridgeId }, 'adoption: bridge destroy failed');
      }),
    );
  };

  // 1. answered calls: our call bridges
  const orphanBridgeIds = new Set(orphans.bridgeIds);
  const orphanBridges = bridges.filter((b) => orphanBridgeIds.has(b.id));
  const membersOf = (bridge: (typeof bridges)[number]) => bridge.channels.filter((id) => channelById.has(id));
  const callsOf = await Promise.all(orphanBridges.map((b) => callInBridge(ctx, b, membersOf(b))));
  for (const [i, bridge] of orphanBridges.entries()) {
    const call = callsOf[i];
    const members = membersOf(bridge);
    const remote = call ? channelById.get(call.remoteChannelId) : undefined;
    const peerId = members.find((id) => id !== call?.remoteChannelId);
    if (call && remote && peerId && members.length === 2 && isUp(remote) && isUp(channelById.get(peerId))) {
      handled.add(remote.id);
      handled.add(peerId);
      const session = router.adopt(remote, 'adopted', (s) =>
        ctx.live.resume(s, { peerChannelId: peerId, bridgeId: bridge.id, workplaceId: call.workplaceId }),
      );
      if (session) {
        result.calls += 1;
        session.log.info(
          { bridgeId: bridge.id, peer: peerId, workplaceId: call.workplaceId },
          'adoption: answered call taken over',
        );
      }
      continue;
    }
    // one side is gone (it hung up while nobody listened), or not a call of ours: end it
    for (const id of members) hangup(id, call ? 'the other side of the call is gone' : 'unknown bridge');
    destroyBridge(bridge.id);
  }

  // 2. voicebox messages being recorded
  for (const { message, channelId } of inRecordings ?? []) {
    // a session of this process still records it (the event socket came back): its own
    if (router.sessions.has(channelId)) continue;
    const caller = handled.has(channelId) ? undefined : channelById.get(channelId);
    result.recordings += 1;
    if (caller) {
      handled.add(caller.id);
      router.adopt(caller, 'adopted-recording', (s) => finishRecording(s, ctx, message));
    } else {
      work.push(storeFinishedRecording(ctx, message, logger));
    }
  }

  // 3. everything else: calls in set-up and their legs, strays
  const orphanSet = new Set(orphans.channelIds);
  for (const id of orphans.channelIds) {
    if (handled.has(id)) continue;
    // the ;2 half of a leg the controller originated (Asterisk subscribes the app to both
    // halves): it ends with its ;1 half, which is a kept call's peer or a session's leg
    if (id.endsWith(';2')) {
      const half1 = id.slice(0, -2);
      if (handled.has(half1) || (channelById.has(half1) && !orphanSet.has(half1))) continue;
    }
    const channel = channelById.get(id);
    if (!channel) continue; // gone meanwhile
    hangup(id, isUp(channel) ? 'call was being set up (menu, prompt)' : 'call was being set up (ringing)');
  }
  for (const id of orphans.bridgeIds) {
    if (!bridges.some((b) => b.id === id)) destroyBridge(id);
  }
  await Promise.all(work);
  return result;
}

/**
 * The call a bridge of ours holds: named in a bridge created for it; in a reused bridge, on the
 * peer leg, whose call variable names the other member as the remote party (live-calls.ts).
 */
async function callInBridge(
  ctx: CallContext,
  bridge: { name?: string },
  members: string[],
): Promise<ReturnType<typeof parseCallTag>> {
  const named = parseCallBridgeName(bridge.name);
  if (named || !isPooledBridgeName(bridge.name) || members.length !== 2) return named;
  const tags = await Promise.all(
    members.map((channelId) =>
      ctx.ari.channels.getChannelVar({ channelId, variable: CALL_VARIABLE }).then(
        (v) => v.value,
        () => undefined, // not set (not a leg of ours), or gone meanwhile
      ),
    ),
  );
  for (const [i, tag] of tags.entries()) {
    const call = parseCallTag(tag);
    if (call && call.remoteChannelId === members[1 - i]) return call;
  }
  return undefined;
}

function isUp(channel: ChannelJson | undefined): boolean {
  return channel?.state === 'Up';
}

/** The caller is still recording: let it finish, then store the message. */
async function finishRecording(
  session: CallSession,
  ctx: CallContext,
  message: VoiceboxMessage,
): Promise<void> {
  const { ari } = ctx;
  const name = message.recordingName;
  let finished: (e: { recording?: { duration?: number } } | undefined) => void = () => {};
  const done = new Promise<{ recording?: { duration?: number } } | undefined>((r) => (finished = r));
  const unroute = ari.events.route(name, (event) => {
    const type = (event as { type: string }).type;
    if (type === 'RecordingFinished' || type === 'RecordingFailed') finished(event as never);
  });
  try {
    // the recording may have ended before we listened
    const live = await ari.recordings.getLive({ recordingName: name }).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (live && (live as { state?: string }).state !== 'done') {
      session.log.info({ recording: name }, 'adoption: voicebox recording goes on');
      session.keepOnHandOver = true;
      const ended = session
        .untilEnded()
        .then(
          () => new Promise<undefined>((r) => setTimeout(() => r(undefined), ctx.timing.recordingGraceMs)),
        );
      await Promise.race([done, ended]);
    }
  } finally {
    session.keepOnHandOver = false;
    unroute();
  }
  // handed over again meanwhile: the next controller finishes it
  if (session.isDetached) return;
  await storeFinishedRecording(ctx, message, session.log);
  if (!session.isEnded) await session.play(['sound:pbx/goodbye']).catch(() => undefined);
}

/** The recording is over: store the message when Asterisk has the recording. */
async function storeFinishedRecording(
  ctx: CallContext,
  message: VoiceboxMessage,
  log: Logger,
): Promise<void> {
  const name = message.recordingName;
  let bytes: number | undefined;
  try {
    const file = await ctx.ari.recordings.getStoredFile({ recordingName: name });
    bytes = (file as unknown as { byteLength?: number; length?: number }).byteLength ?? undefined;
  } catch (err) {
    if (!isNotFound(err)) {
      log.warn(
        { err, recording: name },
        'adoption: stored recording not readable; retried on the next reconcile',
      );
      return;
    }
  }
  if (bytes === undefined) {
    log.warn({ recording: name, messageId: message.id }, 'adoption: no recording stored; nothing to keep');
    await ctx.writes.write('voicebox recording in progress', { messageId: message.id }, () =>
      ctx.store.recordingsInProgress.remove(ctx.controllerId, message.id),
    );
    return;
  }
  // 8 kHz, 16 bit mono WAV after a 44-byte header
  const durationSeconds = Math.max(0, Math.round((bytes - 44) / 16_000));
  await storeMessage(ctx, { ...message, durationSeconds }, log);
  log.info({ messageId: message.id, recording: name, durationSeconds }, 'adoption: voicebox message stored');
}
