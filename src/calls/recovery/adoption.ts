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
 *   live-call registry is written again under this controller. Its call-list record is written
 *   when it ends, as the dead process would have: from the trace that process saved with the
 *   call's registry entry, else from one rebuilt from what Asterisk tells (call-records.ts);
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
 * Cold path only (runs after a connect): it lists Asterisk's channels and bridges once each,
 * and reads the registry entry of each answered call taken over.
 */
import type { Logger } from 'pino';
import { isNotFound } from '../../ari/index.js';
import type { CallTraceSnapshot } from '../../domain/model.js';
import type { CallKind } from '../../domain/routing.js';
import { isPooledBridgeName } from '../connected/bridge-pool.js';
import { restorableSnapshot, traceFromAsterisk, workplaceRef, portalRef } from '../reporting/call-records.js';
import type { CallContext, ResumedCall, Resumers } from '../flows/context.js';
import { CALL_VARIABLE, parseCallBridgeName, parseCallTag } from '../connected/live-calls.js';
import { type Router } from '../flows/router.js';
import { callerNumberOf, planEntry } from '../decisions/entry.js';
import type { CallerChannel } from '../engine/session.js';
import { bounded } from '../engine/store-writes.js';

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
  /** when Asterisk created it (`2026-01-31T10:00:00.000+0100`) */
  creationtime?: string;
  /** a device's channel: its workplace id (src/devices/pjsip-objects.ts) */
  accountcode?: string;
  /** where the channel sits: `Stasis(<app>,<kind>)` for a call that entered the controller */
  dialplan?: { exten?: string; app_name?: string; app_data?: string };
}

type CallIdentity = NonNullable<ReturnType<typeof parseCallTag>>;

/** How long the store may take to answer a read of the adoption (it runs on regardless). */
const STORE_READ_TIMEOUT_MS = 2000;

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
  /** what the features resume (the controller registers them) */
  resumers: Resumers,
): Promise<AdoptionResult> {
  const { ari } = ctx;
  const result: AdoptionResult = { calls: 0, recordings: 0, hungUp: 0, bridges: 0 };
  const inRecordings = await bounded(
    ctx.store.recordingsInProgress.list(ctx.controllerId),
    STORE_READ_TIMEOUT_MS,
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
  const takeovers = orphanBridges.map((bridge, i) => {
    const call = callsOf[i];
    const members = membersOf(bridge);
    const remote = call ? channelById.get(call.remoteChannelId) : undefined;
    const peerId = members.find((id) => id !== call?.remoteChannelId);
    const whole =
      call && remote && peerId && members.length === 2 && isUp(remote) && isUp(channelById.get(peerId));
    return whole ? { call, remote, peerId } : undefined;
  });
  // a call of no workplace may be a feature's (a call-through: its leg carries the guard's ticket)
  const claims = await Promise.all(
    takeovers.map((t) =>
      t && !t.call.workplaceId ? claimed(ctx, resumers, channelById.get(t.peerId)!) : undefined,
    ),
  );
  const traces = await Promise.all(
    takeovers.map((t, i) => (t ? adoptedTrace(ctx, t.remote, t.call, logger, claims[i]) : undefined)),
  );
  for (const [i, bridge] of orphanBridges.entries()) {
    const call = callsOf[i];
    const members = membersOf(bridge);
    const takeover = takeovers[i];
    if (takeover) {
      const { remote, peerId } = takeover;
      handled.add(remote.id);
      handled.add(peerId);
      const found = { peerChannelId: peerId, bridgeId: bridge.id, workplaceId: takeover.call.workplaceId };
      const claim = claims[i];
      const session = router.adopt(
        remote,
        'adopted',
        (s) => (claim ? claim.resume(s, ctx, found) : ctx.live.resume(s, found)),
        traces[i],
      );
      if (session) {
        result.calls += 1;
        session.log.info(
          {
            bridgeId: bridge.id,
            peer: peerId,
            workplaceId: takeover.call.workplaceId,
            // the record it will leave: from the saved trace, rebuilt from Asterisk, or none
            record: traces[i]?.adopted ?? (traces[i] ? 'trace' : 'none'),
            ...claim?.details,
          },
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
      router.adopt(caller, 'adopted-recording', (s) => resumers.recordings.finish(s, ctx, message));
    } else {
      work.push(resumers.recordings.storeFinished(ctx, message, logger));
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
  const tags = await Promise.all(members.map((channelId) => channelVar(ctx, channelId, CALL_VARIABLE)));
  for (const [i, tag] of tags.entries()) {
    const call = parseCallTag(tag);
    if (call && call.remoteChannelId === members[1 - i]) return call;
  }
  return undefined;
}

/**
 * The trace an answered call taken over carries on with: the one the earlier process saved
 * with the call's registry entry; else one rebuilt from what Asterisk tells of the remote
 * party's channel. Undefined when not even the call's company can be told (the configuration
 * out of reach): the call then leaves no record. Never fails: the call is taken over anyway.
 */
async function adoptedTrace(
  ctx: CallContext,
  remote: ChannelJson,
  call: CallIdentity,
  log: Logger,
  claim: ResumedCall | undefined,
): Promise<CallTraceSnapshot | undefined> {
  const adoptedAt = new Date().toISOString();
  try {
    const entry = call.workplaceId
      ? await bounded(ctx.store.liveCalls.get(call.workplaceId), STORE_READ_TIMEOUT_MS, 'live call').catch(
          (err: unknown) => {
            log.warn(
              { err, call: remote.id },
              'adoption: registry entry unknown (store away); record rebuilt',
            );
            return undefined;
          },
        )
      : undefined;
    // the workplace's entry may be another call's by now
    const registered = entry?.remoteChannelId === remote.id ? entry : undefined;
    const saved = restorableSnapshot(registered?.trace, remote.id);
    if (saved) return saved;
    // when the call was known connected: its entry's start (a feature's call: the best its leg
    // tells), else nothing better than now
    const answeredAt =
      registered?.startedAt ?? (claim ? new Date(claim.answeredAtMs).toISOString() : adoptedAt);
    return await rebuiltTrace(ctx, remote, call.workplaceId, answeredAt, claim?.trace ?? {});
  } catch (err) {
    log.warn({ err, call: remote.id }, 'adoption: call record cannot be rebuilt; the call leaves none');
    return undefined;
  }
}

/**
 * A call's trace from Asterisk alone: the remote party's channel (caller number, dialled
 * extension, creation time, how it entered the controller) and the call's workplace; a call of
 * no workplace (a forward, a call out, a call-through) is routed again as the router did when
 * it came in (cached configuration, cold path) to find whose it is. A call-through's leg names
 * the employee's workplace and the destination.
 */
async function rebuiltTrace(
  ctx: CallContext,
  remote: ChannelJson,
  workplaceId: string | undefined,
  answeredAt: string,
  /** what a feature's resumer tells of the call (a call-through: the employee and the destination) */
  facts: ResumedCall['trace'],
): Promise<CallTraceSnapshot | undefined> {
  const kind = stasisKind(remote);
  const exten = remote.dialplan?.exten ?? '';
  const presented = remote.caller?.number ?? '';
  const countryCode = ctx.config.COUNTRY_CODE;
  const [caller, own, employee] = await Promise.all([
    kind === 'internal' && remote.accountcode ? ctx.cache.workplace(remote.accountcode) : undefined,
    workplaceId ? ctx.cache.workplace(workplaceId) : undefined,
    facts.portalWorkplaceId ? ctx.cache.workplace(facts.portalWorkplaceId) : undefined,
  ]);
  // the router's own entry decision, taken again over the cached configuration
  const route = own
    ? undefined
    : (
        await planEntry({ kind, exten, presented, callerWorkplace: caller }, ctx.cache, {
          countryCode,
          voiceboxAccessNumber: ctx.config.VOICEBOX_ACCESS_NUMBER,
        })
      ).route;
  const target = own ?? (route?.kind === 'workplace' ? route.workplace : undefined);
  const portal = route?.kind === 'portal' ? route.portal : undefined;
  const outboundTo = route?.kind === 'outbound' ? route.e164 : undefined;
  if (!target && !portal && outboundTo === undefined && !employee) return undefined;
  const created = Date.parse(remote.creationtime ?? '');
  return traceFromAsterisk({
    callId: remote.id,
    kind,
    fromDialled: presented,
    toDialled: exten,
    from: callerNumberOf(presented, caller, countryCode),
    startedMs: Number.isFinite(created) ? created : Date.parse(answeredAt),
    ...(caller ? { caller: workplaceRef(caller) } : {}),
    ...(target ? { target: workplaceRef(target) } : {}),
    ...(portal ? { portal: portalRef(portal) } : {}),
    ...(outboundTo !== undefined ? { outboundTo } : {}),
    ...(employee ? { portalWorkplace: workplaceRef(employee) } : {}),
    ...(facts.callThroughTo !== undefined ? { callThroughTo: facts.callThroughTo } : {}),
    answeredAt,
  });
}

/** The first registered resumer that claims the answered call (reads of its peer leg, cold path). */
async function claimed(
  ctx: CallContext,
  resumers: Resumers,
  peer: ChannelJson,
): Promise<ResumedCall | undefined> {
  for (const resumer of resumers.answered) {
    const claim = await resumer.claim(peer, (name) => channelVar(ctx, peer.id, name));
    if (claim) return claim;
  }
  return undefined;
}

/** How the channel entered the controller: its Stasis() arguments; else a device's is internal. */
function stasisKind(channel: ChannelJson): CallKind {
  const arg = channel.dialplan?.app_name === 'Stasis' ? channel.dialplan.app_data?.split(',')[1] : undefined;
  if (arg === 'inbound' || arg === 'internal') return arg;
  return channel.accountcode ? 'internal' : 'inbound';
}

/** A channel variable; undefined when not set (not a leg of ours) or the channel is gone meanwhile. */
function channelVar(ctx: CallContext, channelId: string, variable: string): Promise<string | undefined> {
  return ctx.ari.channels.getChannelVar({ channelId, variable }).then(
    (v) => v.value || undefined,
    (err: unknown) => {
      // anything but "not set" is worth a line: a call-through whose leg cannot be read is
      // taken over without its cut
      if (!isNotFound(err))
        ctx.logger.warn({ err, channelId, variable }, 'adoption: channel variable not read');
      return undefined;
    },
  );
}

function isUp(channel: ChannelJson | undefined): boolean {
  return channel?.state === 'Up';
}
