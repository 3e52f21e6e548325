/**
 * `*11`: take over a workplace's running call on another channel (the mobile calling the
 * Anywhere portal, or a desk device pulling it back). The remote party is moved into a new
 * bridge with the pulling channel first, and only then is the old peer (desk leg or mobile)
 * released — it is never dropped. The call stays registered, now with the pulling channel as
 * its device side, so it can be pulled again.
 */
import type { CallContext } from './context.js';
import type { CallSession } from '../engine/session.js';

export type PullResult = 'pulled' | 'no-call';

/**
 * Pulls `workplaceId`'s running call to the session's caller. Answers the session first.
 * After 'pulled', the caller talks to the remote party; the flow should then
 * `await session.untilEnded()` (returning earlier lets the router hang the caller up).
 */
export async function pullCall(
  session: CallSession,
  ctx: CallContext,
  workplaceId: string,
): Promise<PullResult> {
  const entry = await session.guard(ctx.store.liveCalls.get(workplaceId));
  if (!entry) {
    session.log.info({ workplaceId }, 'pull: no running call');
    return 'no-call';
  }
  const call = ctx.live.byRemoteChannel(entry.remoteChannelId);
  if (!call || call.over || call.bridgeId !== entry.bridgeId) {
    // registered by another controller process, or already over: this process cannot move it
    session.log.warn(
      { workplaceId, controllerId: entry.controllerId },
      'pull: call is not held by this controller',
    );
    return 'no-call';
  }
  if (call.peerChannelId === session.channelId) return 'pulled';
  await session.answer();
  // recorded as pulled only once the move succeeded; the records of both calls wait for the
  // outcome (either side may hang up the moment it is bridged, before the move is over), which
  // is the move's own — told even when this caller is gone before it is
  const pull = { workplaceId, remoteChannelId: call.remoteChannelId };
  ctx.events?.emit(session, { type: 'pull.started', ...pull });
  const moving = call.moveTo(session.channelId).then(
    (moved) => ctx.events?.emit(session, { type: moved ? 'pulled' : 'pull.failed', ...pull }),
    (err: unknown) => {
      ctx.events?.emit(session, { type: 'pull.failed', ...pull });
      throw err;
    },
  );
  await session.guard(moving);
  session.log.info({ workplaceId, bridgeId: call.bridgeId }, 'pull: call taken over');
  return 'pulled';
}
