/**
 * `*11`: take over a workplace's running call on another channel (the mobile calling the
 * Anywhere portal, or a desk device pulling it back). The remote party is moved into a new
 * bridge with the pulling channel first, and only then is the old peer (desk leg or mobile)
 * released — it is never dropped. The call stays registered, now with the pulling channel as
 * its device side, so it can be pulled again.
 */
import type { CallContext } from './context.js';
import type { CallSession } from './session.js';

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
  // told before the move: the remote party may hang up the moment it is bridged
  ctx.events?.emit(session, { type: 'pulled', workplaceId, remoteChannelId: call.remoteChannelId });
  await session.guard(call.moveTo(session.channelId));
  session.log.info({ workplaceId, bridgeId: call.bridgeId }, 'pull: call taken over');
  return 'pulled';
}
