/**
 * The voicebox (Sprachbox).
 *
 * Deposit: the caller hears the custom greeting, or a short default one
 * ("Ihr Gesprächspartner ist nicht erreichbar …", about 4 s), then the tone, and
 * speaks until '#', 5 s of silence or 180 s. The message is kept even when the caller hangs
 * up mid-recording; its metadata goes to the store and the owner is notified.
 *
 * Retrieval by phone: PIN (3 tries per call; wrong entries count across calls and lock the
 * PIN at 5 until an admin resets it), then the count of new and saved messages, and the menu:
 * 1 listen (per message: 1 repeat, 2 save, 3 delete, # next), 2 record a greeting.
 */
import { randomUUID } from 'node:crypto';
import { isNotFound } from '../../ari/index.js';
import type { Logger } from 'pino';
import { PIN_ATTEMPTS_PER_CALL, PIN_LOCK_AFTER, verifyPinAsync } from '../../domain/pin.js';
import type { VoiceboxMessage, Workplace } from '../../domain/model.js';
import { StaleWriteError } from '../../store/store.js';
import type { CallContext, RecordingResumer } from './context.js';
import { promptMedia, speakDigits, type PromptId } from '../engine/prompts.js';
import type { CallSession } from '../engine/session.js';
import { pinEntry } from '../engine/timing.js';
import { VOICEBOX_MAX_SECONDS } from '../decisions/ring.js';

export const VOICEBOX_MAX_SILENCE_SECONDS = 5;
export const GREETING_MAX_SECONDS = 60;

const p = (...ids: PromptId[]): string[] => ids.map(promptMedia);

export function recordingMedia(name: string): string {
  return `recording:${name}`;
}

/** What the caller hears before the tone: the custom greeting or the generated default. */
export function greetingMedia(workplace: Workplace): string[] {
  if (workplace.voicebox.greetingRecording) return [recordingMedia(workplace.voicebox.greetingRecording)];
  return [promptMedia('vb-unavailable')];
}

function newRecordingName(kind: 'vm' | 'greeting', workplaceId: string): string {
  return `${kind}-${workplaceId}-${randomUUID()}`;
}

export async function depositMessage(
  session: CallSession,
  ctx: CallContext,
  workplace: Workplace,
  callerNumber: string,
): Promise<void> {
  const lang = workplace.language;
  await session.answer();
  // keys pressed while it rang are no answer to anything here
  session.clearDigits();
  // a key pressed during the greeting skips it (callers who know it), it is not a menu choice
  await session.play(greetingMedia(workplace), { lang });
  session.clearDigits();
  await session.play(p('beep'), { lang });
  session.clearDigits();
  const pending: VoiceboxMessage = {
    id: randomUUID(),
    companyId: workplace.companyId,
    workplaceId: workplace.id,
    callerNumber,
    receivedAt: new Date().toISOString(),
    durationSeconds: 0,
    recordingName: newRecordingName('vm', workplace.id),
    status: 'new',
  };
  // should this controller stop mid-recording, the next one finds the message and stores it
  // (adoption.ts). Not awaited — the tone does not wait for the store — but the message is
  // written only after this attempt (landed or queued), so nothing can overtake it
  const onRecord = ctx.writes.write('voicebox recording in progress', { messageId: pending.id }, () =>
    ctx.store.recordingsInProgress.put(ctx.controllerId, { message: pending, channelId: session.channelId }),
  );
  session.keepOnHandOver = true;
  const recording = await session
    .record({
      name: pending.recordingName,
      maxSeconds: VOICEBOX_MAX_SECONDS,
      maxSilenceSeconds: VOICEBOX_MAX_SILENCE_SECONDS,
      terminateOn: '#',
      beep: false,
    })
    .catch(async (err: unknown) => {
      // the caller left before the recording started: nothing to keep
      await onRecord;
      void forgetRecording(ctx, pending.id);
      throw err;
    })
    .finally(() => (session.keepOnHandOver = false));
  await onRecord;
  if (!recording.ok) {
    session.log.warn({ recording: recording.name }, 'voicebox recording failed');
    void forgetRecording(ctx, pending.id);
    await session.hangup();
    return;
  }
  const message: VoiceboxMessage = { ...pending, durationSeconds: recording.durationSeconds };
  // stored whether or not the caller is still there: the message is what the caller came for
  await storeMessage(ctx, message, session.log);
  ctx.events?.emit(session, { type: 'message', message });
  session.log.info(
    { messageId: message.id, durationSeconds: message.durationSeconds, callerHungUp: recording.callerHungUp },
    'voicebox message stored',
  );
  if (recording.callerHungUp) return;
  await session.play(p('goodbye'), { lang });
  await session.hangup();
}

/**
 * Stores a recorded message and tells the owner; when the store is away the message is kept
 * and written once it is back (the caller does not wait), then the in-progress record goes.
 */
export async function storeMessage(ctx: CallContext, message: VoiceboxMessage, log: Logger): Promise<void> {
  const fields = {
    messageId: message.id,
    workplaceId: message.workplaceId,
    recording: message.recordingName,
  };
  const { written } = await ctx.writes.write('voicebox message', { ...fields, message }, () =>
    ctx.store.voicebox.add(message),
  );
  void written.then(() => {
    ctx.notifier.messageDeposited(message);
    log.debug(fields, 'voicebox message written');
    void ctx.writes.write('voicebox recording in progress', { messageId: message.id }, () =>
      ctx.store.recordingsInProgress.remove(ctx.controllerId, message.id),
    );
  });
}

function forgetRecording(ctx: CallContext, messageId: string): Promise<unknown> {
  return ctx.writes.write('voicebox recording in progress', { messageId }, () =>
    ctx.store.recordingsInProgress.remove(ctx.controllerId, messageId),
  );
}

/** PIN check: true when the owner may listen. Plays what the caller needs to hear. */
async function authenticate(session: CallSession, ctx: CallContext, workplace: Workplace): Promise<boolean> {
  const lang = workplace.language;
  const { timing } = ctx;
  const pinHash = workplace.voicebox.pinHash;
  const locked = async () => {
    session.log.info({ workplaceId: workplace.id }, 'voicebox PIN locked');
    await session.play(p('vb-locked'), { lang });
    return false;
  };
  if (!pinHash) {
    session.log.info({ workplaceId: workplace.id }, 'voicebox has no PIN; access refused');
    await session.play(p('access-denied'), { lang });
    return false;
  }
  if ((await session.guard(ctx.store.pinFailures.get(workplace.id))) >= PIN_LOCK_AFTER) return locked();
  for (let attempt = 1; attempt <= PIN_ATTEMPTS_PER_CALL; attempt++) {
    const pin = await session.collectDigits({
      ...pinEntry(timing),
      prompt: { media: p(attempt === 1 ? 'vb-enter-pin' : 'enter-pin'), lang },
    });
    if (pin === '') {
      // nothing entered is a lost attempt of this call, but no guess: it does not count towards the lock
      session.log.info({ workplaceId: workplace.id, attempt }, 'voicebox PIN not entered');
    } else {
      // the guess takes its slot in the failure counter BEFORE it is checked (atomic INCR), so
      // parallel calls can never get more than PIN_LOCK_AFTER guesses verified
      const failures = await session.guard(ctx.store.pinFailures.increment(workplace.id));
      if (failures > PIN_LOCK_AFTER) return locked();
      if (await session.guard(verifyPinAsync(pin, pinHash))) {
        await session.guard(ctx.store.pinFailures.reset(workplace.id));
        session.log.info({ workplaceId: workplace.id, attempt }, 'voicebox PIN accepted');
        return true;
      }
      // never the PIN itself in a log line
      session.log.info({ workplaceId: workplace.id, attempt, failures }, 'voicebox PIN wrong');
      ctx.events?.emit(session, {
        type: 'pin.wrong',
        companyId: workplace.companyId,
        workplaceId: workplace.id,
        failures,
        where: 'voicebox',
      });
      if (failures >= PIN_LOCK_AFTER) return locked();
    }
    await session.play(p('pin-wrong'), { lang });
  }
  await session.play(p('goodbye'), { lang });
  return false;
}

function countMedia(count: number, what: 'vb-new-messages' | 'vb-saved-messages'): string[] {
  return [promptMedia('vb-you-have'), ...speakDigits(String(count)), promptMedia(what)];
}

/** The owner's menu after the PIN: listen to new and saved messages, record a greeting. */
export async function retrieveMessages(
  session: CallSession,
  ctx: CallContext,
  workplace: Workplace,
): Promise<void> {
  const lang = workplace.language;
  await session.answer();
  if (!(await authenticate(session, ctx, workplace))) {
    await session.hangup();
    return;
  }
  const summary = await session.guard(ctx.store.voicebox.list(workplace.id));
  const fresh = summary.filter((m) => m.status === 'new').length;
  const saved = summary.length - fresh;
  if (summary.length === 0) await session.play(p('vb-no-messages'), { lang });
  else
    await session.play([...countMedia(fresh, 'vb-new-messages'), ...countMedia(saved, 'vb-saved-messages')], {
      lang,
    });

  let silentRounds = 0;
  for (;;) {
    const choice = await session.collectDigits({
      max: 1,
      firstDigitTimeoutMs: ctx.timing.menuTimeoutMs,
      interDigitTimeoutMs: ctx.timing.menuTimeoutMs,
      prompt: { media: p('vb-main-menu'), lang },
    });
    if (choice === '') {
      // no input: the menu once more, then goodbye
      if (++silentRounds >= 2) break;
      continue;
    }
    silentRounds = 0;
    if (choice === '1') await listen(session, ctx, workplace);
    else if (choice === '2') await recordGreeting(session, ctx, workplace);
    else await session.play(p('invalid-input'), { lang });
  }
  await session.play(p('goodbye'), { lang });
  await session.hangup();
}

/** New messages first (oldest first), then saved ones. */
export function listeningOrder(messages: readonly VoiceboxMessage[]): VoiceboxMessage[] {
  const byTime = (a: VoiceboxMessage, b: VoiceboxMessage) => a.receivedAt.localeCompare(b.receivedAt);
  return [
    ...messages.filter((m) => m.status === 'new').sort(byTime),
    ...messages.filter((m) => m.status !== 'new').sort(byTime),
  ];
}

async function listen(session: CallSession, ctx: CallContext, workplace: Workplace): Promise<void> {
  const lang = workplace.language;
  const messages = listeningOrder(await session.guard(ctx.store.voicebox.list(workplace.id)));
  for (const message of messages) {
    let current = message;
    let next = false;
    while (!next) {
      const interrupted = await session.play(
        [
          promptMedia('vb-message-from'),
          ...speakDigits(current.callerNumber),
          recordingMedia(current.recordingName),
        ],
        { lang },
      );
      if (current.status === 'new') {
        current = { ...current, status: 'heard' };
        await session.guard(ctx.store.voicebox.update(current));
      }
      const choice =
        interrupted ??
        (await session.collectDigits({
          max: 1,
          firstDigitTimeoutMs: ctx.timing.menuTimeoutMs,
          interDigitTimeoutMs: ctx.timing.menuTimeoutMs,
          prompt: { media: p('vb-message-menu'), lang },
        }));
      switch (choice) {
        case '1':
          break; // repeat
        case '2':
          current = { ...current, status: 'saved' };
          await session.guard(ctx.store.voicebox.update(current));
          await session.play(p('vb-message-saved'), { lang });
          next = true;
          break;
        case '3':
          await session.guard(ctx.store.voicebox.delete(workplace.id, current.id));
          await deleteRecording(ctx, current.recordingName);
          await session.play(p('vb-message-deleted'), { lang });
          next = true;
          break;
        default:
          next = true; // '#', nothing, or anything else: the next message
      }
    }
  }
  await session.play(p('vb-no-more-messages'), { lang });
}

async function deleteRecording(ctx: CallContext, name: string): Promise<void> {
  await ctx.ari.recordings.deleteStored({ recordingName: name }).catch(() => {});
}

async function recordGreeting(session: CallSession, ctx: CallContext, workplace: Workplace): Promise<void> {
  const lang = workplace.language;
  await session.play(p('vb-record-greeting'), { lang });
  session.clearDigits();
  await session.play(p('beep'), { lang });
  session.clearDigits();
  const recording = await session.record({
    name: newRecordingName('greeting', workplace.id),
    maxSeconds: GREETING_MAX_SECONDS,
    maxSilenceSeconds: VOICEBOX_MAX_SILENCE_SECONDS,
    terminateOn: '#',
    beep: false,
  });
  if (!recording.ok || recording.callerHungUp) {
    // half a greeting is worse than the default one
    await deleteRecording(ctx, recording.name);
    return;
  }
  const previous = await saveGreeting(ctx, workplace.id, workplace.companyId, recording.name);
  if (previous) await deleteRecording(ctx, previous);
  await session.play(p('vb-greeting-saved'), { lang });
}

/** Stores the greeting on the workplace (optimistic write, retried); returns the old one. */
async function saveGreeting(
  ctx: CallContext,
  workplaceId: string,
  companyId: string,
  recordingName: string,
): Promise<string | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await ctx.store.workplaces.get(companyId, workplaceId);
    if (!current) return undefined;
    const updated: Workplace = {
      ...current,
      voicebox: { ...current.voicebox, greetingRecording: recordingName },
      updatedAt: new Date().toISOString(),
    };
    try {
      await ctx.store.workplaces.put(updated, current);
      return current.voicebox.greetingRecording;
    } catch (err) {
      if (!(err instanceof StaleWriteError)) throw err;
    }
  }
  throw new StaleWriteError('could not save the greeting: the workplace keeps changing');
}

/**
 * Adoption's resumer for messages being recorded when the controller went away: the recording
 * goes on and the message is stored when it ends, or at once when the caller is gone.
 */
export const voiceboxRecordings: RecordingResumer = {
  finish: (session, ctx, message) => finishRecording(session, ctx, message),
  storeFinished: (ctx, message, log) => storeFinishedRecording(ctx, message, log),
};

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
