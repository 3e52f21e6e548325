import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync, unlinkSync, readFileSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { World } from './world.js';
import {
  SimHttpError,
  notFound,
  type Bridge,
  type Chan,
  type LiveRecording,
  type Playback,
  type SimMedia,
  type StoredRecording,
} from './types.js';
import { makeWav } from './util.js';

const FORMATS = new Set(['wav', 'gsm', 'ulaw', 'alaw', 'sln', 'sln16', 'g722', 'wav16']);

/** Playbacks (channel and bridge, queued per target) and recordings (live + stored WAV files). */
export class Media implements SimMedia {
  readonly playbacks = new Map<string, Playback>();
  readonly live = new Map<string, LiveRecording>();
  readonly stored = new Map<string, StoredRecording>();

  constructor(
    private readonly world: World,
    /** 'missing': no such file — the playback starts and fails at once, like Asterisk's */
    private readonly durationMs: (media: string, lang: string) => number | 'missing',
    private readonly recordingsDir: string,
  ) {}

  // ------------------------------------------------------------- playbacks

  json(pb: Playback): Record<string, unknown> {
    const body: Record<string, unknown> = {
      id: pb.id,
      media_uri: pb.media[pb.index],
      target_uri: pb.targetUri,
      language: pb.language,
      state: pb.state,
    };
    if (pb.index + 1 < pb.media.length) body.next_media_uri = pb.media[pb.index + 1];
    return body;
  }

  get(id: string): Playback {
    const pb = this.playbacks.get(id);
    if (!pb) throw notFound('Playback not found');
    return pb;
  }

  /** Creates a queued playback; `start()` it after the REST answer went out. */
  create(
    target: { channel?: Chan; bridge?: Bridge },
    media: string[],
    lang: string | undefined,
    id: string | undefined,
  ): Playback {
    if (media.length === 0 || media.some((m) => !/^[a-z]+:./.test(m)))
      throw new SimHttpError(400, { message: 'media: invalid or missing media URI' });
    if (id && this.playbacks.has(id))
      throw new SimHttpError(409, { message: 'Playback with the same id already exists' });
    const pb: Playback = {
      id: id || randomUUID(),
      media,
      index: 0,
      targetUri: target.channel ? `channel:${target.channel.id}` : `bridge:${target.bridge!.id}`,
      channel: target.channel,
      bridge: target.bridge,
      language: lang || target.channel?.language || 'en',
      state: 'queued',
    };
    this.playbacks.set(pb.id, pb);
    (target.channel ?? target.bridge)!.playbacks.push(pb);
    return pb;
  }

  /** Starts the target's head playback if nothing is playing there yet. */
  kick(owner: { playbacks: Playback[] }): void {
    const head = owner.playbacks[0];
    if (head && head.state === 'queued') this.startMedia(head);
  }

  private emit(pb: Playback, type: string): void {
    const body = { playback: this.json(pb) };
    if (pb.channel) {
      for (const app of this.world.hub.targets(pb.channel.subs)) this.world.hub.send(app, type, body);
    } else if (pb.bridge) this.world.bridges.sendToSubs(pb.bridge, type, body);
  }

  private startMedia(pb: Playback): void {
    const uri = pb.media[pb.index]!;
    const wasPlaying = pb.state === 'playing';
    pb.state = 'playing';
    const listeners = pb.channel ? [pb.channel] : pb.bridge!.channels;
    for (const ch of listeners) {
      ch.heard.push(uri);
      this.world.notify(ch);
    }
    this.emit(pb, wasPlaying ? 'PlaybackContinuing' : 'PlaybackStarted');
    const ms = this.durationMs(uri, pb.language);
    if (ms === 'missing') {
      // Asterisk: "Playback failed for sound:..." — PlaybackFinished state failed right after PlaybackStarted
      this.finish(pb, 'failed');
      return;
    }
    if (Number.isFinite(ms)) {
      pb.timer = this.world.after(pb.channel, ms, () => {
        pb.timer = undefined;
        if (pb.index + 1 < pb.media.length) {
          pb.index++;
          this.startMedia(pb);
        } else this.finish(pb);
      });
    }
  }

  /** Ends a playback: `done` (played out or stopped) or `failed` (file missing, channel hung up). */
  finish(pb: Playback, state: 'done' | 'failed' = 'done'): void {
    if (pb.state === 'done' || pb.state === 'failed') return;
    if (pb.timer) {
      clearTimeout(pb.timer);
      pb.channel?.timers.delete(pb.timer);
    }
    pb.state = state;
    this.playbacks.delete(pb.id);
    const owner = (pb.channel ?? pb.bridge)!;
    owner.playbacks = owner.playbacks.filter((p) => p !== pb);
    this.emit(pb, 'PlaybackFinished');
    if (!pb.channel?.hangingUp) this.kick(owner);
  }

  control(pb: Playback, operation: string): void {
    if (!['restart', 'pause', 'unpause', 'reverse', 'forward'].includes(operation)) {
      throw new SimHttpError(400, { message: 'Invalid operation' });
    }
    if (pb.state !== 'playing')
      throw new SimHttpError(409, { message: 'Playback not in a state to be controlled' });
  }

  onBridgeDestroyed(b: Bridge): void {
    for (const pb of [...b.playbacks]) this.finish(pb);
  }

  // ------------------------------------------------------------- recordings

  liveJson(rec: LiveRecording): Record<string, unknown> {
    const body: Record<string, unknown> = {
      name: rec.name,
      format: rec.format,
      state: rec.state,
      target_uri: `channel:${rec.ch.id}`,
    };
    if (rec.state === 'done' || rec.state === 'canceled') {
      const total = this.recordedMs(rec);
      body.duration = Math.floor(total / 1000);
      // Asterisk knows talking/silence only when it detected silence (maxSilenceSeconds given)
      if (rec.maxSilenceSec > 0) {
        body.talking_duration = Math.floor(rec.talkingMs / 1000);
        body.silence_duration = Math.floor(Math.max(0, total - rec.talkingMs) / 1000);
      }
    }
    return body;
  }

  private recordedMs(rec: LiveRecording): number {
    return (Date.now() - rec.startedAt) / this.world.timeScale;
  }

  record(
    ch: Chan,
    p: {
      name?: string;
      format?: string;
      maxDurationSeconds: number;
      maxSilenceSeconds: number;
      ifExists: string;
      beep: boolean;
      terminateOn: string;
    },
  ): LiveRecording {
    this.world.requireStasis(ch);
    if (!p.name) throw new SimHttpError(400, { message: 'Recording name is required' });
    if (!p.format) throw new SimHttpError(400, { message: 'Recording format is required' });
    if (!FORMATS.has(p.format))
      throw new SimHttpError(422, { message: `Recording format '${p.format}' is not supported` });
    if (!['fail', 'overwrite', 'append'].includes(p.ifExists))
      throw new SimHttpError(400, { message: 'ifExists: invalid value' });
    if (!/^(none|any|[0-9*#])$/.test(p.terminateOn))
      throw new SimHttpError(400, { message: 'terminateOn: invalid value' });
    if (p.maxDurationSeconds < 0 || p.maxSilenceSeconds < 0)
      throw new SimHttpError(400, { message: 'maxDurationSeconds and maxSilenceSeconds must be >= 0' });
    // Like Asterisk: a name in use by a live recording, or a stored one with ifExists=fail, is
    // refused at once (409; test/ari-sim/traces/rest-errors-controller.jsonl).
    if (this.live.has(p.name) || (p.ifExists === 'fail' && this.stored.has(p.name)))
      throw new SimHttpError(409, {
        message: `Recording '${p.name}' already exists and can not be overwritten`,
      });
    if (ch.recording) throw new SimHttpError(409, { message: 'Channel is already recording' });
    const existing = this.stored.get(p.name);
    const append = existing && p.ifExists === 'append';
    const rec: LiveRecording = {
      name: p.name,
      format: p.format,
      ch,
      state: 'queued',
      startedAt: Date.now(),
      talkingMs: 0,
      terminateOn: p.terminateOn,
      maxSilenceSec: p.maxSilenceSeconds,
      baseMs: append ? existing.durationMs : 0,
      baseTalkingMs: append ? existing.talkingMs : 0,
    };
    this.live.set(rec.name, rec);
    ch.recording = rec;
    const start = () => {
      if (rec.state !== 'queued') return;
      rec.state = 'recording';
      rec.startedAt = Date.now();
      this.emitRec(rec, 'RecordingStarted');
      if (p.maxDurationSeconds > 0)
        rec.maxTimer = this.world.after(ch, p.maxDurationSeconds * 1000, () => this.end(rec, 'done'));
      this.armSilence(rec);
    };
    // The beep is short (a tone before recording starts); the traces show RecordingStarted at once.
    if (p.beep) ch.heard.push('sound:beep');
    this.world.after(ch, 0, start);
    return rec;
  }

  private armSilence(rec: LiveRecording): void {
    if (rec.silenceTimer) {
      clearTimeout(rec.silenceTimer);
      rec.ch.timers.delete(rec.silenceTimer);
    }
    if (rec.maxSilenceSec > 0)
      rec.silenceTimer = this.world.after(rec.ch, rec.maxSilenceSec * 1000, () => this.end(rec, 'done'));
  }

  /** The caller talks for `ms` (simulated): counts as talking, resets the silence timer. */
  speak(ch: Chan, ms: number): void {
    const rec = ch.recording;
    if (!rec || rec.state !== 'recording') return;
    rec.talkingMs += ms;
    if (rec.silenceTimer) {
      clearTimeout(rec.silenceTimer);
      ch.timers.delete(rec.silenceTimer);
      rec.silenceTimer = undefined;
    }
    // Silence is counted from when the caller stops talking.
    this.world.after(ch, ms, () => {
      if (rec.state === 'recording') this.armSilence(rec);
    });
  }

  private emitRec(rec: LiveRecording, type: string): void {
    const body = { recording: this.liveJson(rec) };
    for (const app of this.world.hub.targets(rec.ch.subs)) this.world.hub.send(app, type, body);
  }

  liveGet(name: string): LiveRecording {
    const rec = this.live.get(name);
    if (!rec) throw notFound('Recording not found');
    return rec;
  }

  /** Ends a live recording: `done` stores the WAV (length = recorded time), `canceled` discards it. */
  end(rec: LiveRecording, state: 'done' | 'canceled'): void {
    if (rec.state === 'done' || rec.state === 'canceled') return;
    for (const t of [rec.maxTimer, rec.silenceTimer]) {
      if (t) {
        clearTimeout(t);
        rec.ch.timers.delete(t);
      }
    }
    const wasQueued = rec.state === 'queued';
    if (wasQueued) rec.startedAt = Date.now();
    rec.state = state;
    this.live.delete(rec.name);
    if (rec.ch.recording === rec) rec.ch.recording = undefined;
    if (state === 'done') {
      const durationMs = rec.baseMs + this.recordedMs(rec);
      const talkingMs = rec.baseTalkingMs + Math.min(rec.talkingMs, this.recordedMs(rec));
      const file = this.filePath(rec.name, rec.format);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, makeWav(durationMs, talkingMs));
      this.stored.set(rec.name, { name: rec.name, format: rec.format, file, durationMs, talkingMs });
    }
    this.emitRec(rec, 'RecordingFinished');
  }

  /** RecordingFailed: nothing was recorded (the channel went away before recording began). */
  private fail(rec: LiveRecording, cause: string): void {
    rec.state = 'failed';
    this.live.delete(rec.name);
    if (rec.ch.recording === rec) rec.ch.recording = undefined;
    const body = { recording: { ...this.liveJson(rec), cause } };
    for (const app of this.world.hub.targets(rec.ch.subs)) this.world.hub.send(app, 'RecordingFailed', body);
  }

  private filePath(name: string, format: string): string {
    return join(this.recordingsDir, `${name}.${format}`);
  }

  onDtmf(ch: Chan, digit: string): void {
    const rec = ch.recording;
    if (rec && rec.state === 'recording' && (rec.terminateOn === 'any' || rec.terminateOn === digit))
      this.end(rec, 'done');
  }

  onHangup(ch: Chan): void {
    const rec = ch.recording;
    if (rec?.state === 'queued') this.fail(rec, 'Channel hung up before the recording started');
    else if (rec) this.end(rec, 'done');
    // Asterisk ends a playback the caller hangs up on as `failed` (the stream was cut), after
    // ChannelHangupRequest and before StasisEnd (test/ari-sim/traces/playback-failures.jsonl)
    for (const pb of [...ch.playbacks]) this.finish(pb, pb.state === 'playing' ? 'failed' : 'done');
  }

  storedGet(name: string): StoredRecording {
    const rec = this.stored.get(name);
    if (!rec) throw notFound('Recording not found');
    return rec;
  }
  storedJson(rec: StoredRecording): Record<string, unknown> {
    return { name: rec.name, format: rec.format };
  }
  storedDelete(name: string): void {
    const rec = this.storedGet(name);
    this.stored.delete(name);
    try {
      unlinkSync(rec.file);
    } catch {
      // already gone: the stored entry is what the API reports on
    }
  }
  storedFile(name: string): Buffer {
    return readFileSync(this.storedGet(name).file);
  }
  storedCopy(name: string, dest: string | undefined): StoredRecording {
    const src = this.storedGet(name);
    if (!dest) throw new SimHttpError(400, { message: 'destinationRecordingName is required' });
    if (this.stored.has(dest))
      throw new SimHttpError(409, { message: 'A recording with the same name already exists on the system' });
    const file = this.filePath(dest, src.format);
    mkdirSync(dirname(file), { recursive: true });
    copyFileSync(src.file, file);
    const copy = { ...src, name: dest, file };
    this.stored.set(dest, copy);
    return copy;
  }
}
