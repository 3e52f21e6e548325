/**
 * Voicebox by e-mail against a real SMTP server (smtp-server) on loopback and the Redis store:
 * the WAV arrives attached, in the workplace's language; a mail server that is down delays the
 * mail, never loses it; a sender that dies holding a job leaves it to another one.
 */
import { randomUUID } from 'node:crypto';
import { simpleParser, type ParsedMail } from 'mailparser';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { VoiceboxMessage } from '../../src/domain/model.js';
import { createMailTransport, VoiceboxMailer } from '../../src/mail/voicebox-mailer.js';
import { createRedisStore, type PbxStore } from '../../src/store/index.js';
import { freePort } from '../support/redis-global-setup.js';
import { workplace } from '../store/fixtures.js';

const redisUrl = inject('redisUrl');
const logger = pino({ level: 'silent' });
// a RIFF header and some silence: what Asterisk's stored recording returns
const WAV = Buffer.concat([
  Buffer.from('RIFF'),
  Buffer.alloc(4),
  Buffer.from('WAVEfmt '),
  Buffer.alloc(2000, 0x80),
]);

/** a real SMTP server on loopback that parses what it receives */
async function startSmtp(port: number) {
  const received: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push(mail);
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function message(
  workplaceId: string,
  companyId: string,
  over: Partial<VoiceboxMessage> = {},
): VoiceboxMessage {
  return {
    id: randomUUID(),
    companyId,
    workplaceId,
    callerNumber: '+4989111222',
    receivedAt: new Date().toISOString(),
    durationSeconds: 42,
    recordingName: `vb-${randomUUID()}`,
    status: 'new',
    ...over,
  };
}

describe('voicebox messages by e-mail', () => {
  let store: PbxStore;
  let port: number;
  const mailers: VoiceboxMailer[] = [];
  const recordings = { getFile: async () => ({ body: WAV, contentType: 'audio/wav' }) };

  const mailer = (over: Partial<ConstructorParameters<typeof VoiceboxMailer>[0]> = {}) => {
    const m = new VoiceboxMailer({
      store,
      recordings,
      transport: createMailTransport(`smtp://127.0.0.1:${port}`),
      from: 'pbx@example.com',
      holder: 'ctl-a',
      logger,
      firstBackoffMs: 100,
      maxBackoffMs: 400,
      ...over,
    });
    mailers.push(m);
    return m;
  };

  /** runs passes until `done` holds (no sleeping on a guess: a bounded poll of the real thing) */
  async function until(m: VoiceboxMailer, done: () => boolean, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await m.runOnce();
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    store = await createRedisStore({
      url: redisUrl,
      prefix: `test-mail-${randomUUID()}:`,
      checkReferences: false,
    });
  });
  afterEach(async () => {
    await Promise.all(mailers.splice(0).map((m) => m.stop()));
  });
  afterAll(async () => store.close());

  it('mails a new message with its WAV attached, in the workplace language; the job is gone after', async () => {
    port = await freePort();
    const smtp = await startSmtp(port);
    try {
      const w = workplace('c1', { email: 'erika@example.com', language: 'de' });
      await store.workplaces.put(w);
      const msg = message(w.id, 'c1');
      await store.voicebox.add(msg);
      expect(await store.mailOutbox.pending()).toBe(1);
      const m = mailer();
      await until(m, () => smtp.received.length === 1);
      const mail = smtp.received[0]!;
      expect(mail.subject).toBe('Neue Sprachnachricht von +4989111222');
      expect(mail.to && 'text' in mail.to ? mail.to.text : '').toContain('erika@example.com');
      expect(mail.text).toContain('Länge: 0:42');
      expect(mail.attachments).toHaveLength(1);
      expect(mail.attachments[0]).toMatchObject({ contentType: 'audio/wav' });
      expect(mail.attachments[0]!.content.equals(WAV)).toBe(true);
      expect(await store.mailOutbox.pending()).toBe(0);

      // English, and a workplace that switched mail off gets none
      const en = workplace('c1', { email: 'john@example.com', language: 'en' });
      const off = workplace('c1', { email: 'off@example.com', voicebox: { enabled: true, mail: false } });
      await store.workplaces.put(en);
      await store.workplaces.put(off);
      await store.voicebox.add(message(off.id, 'c1'));
      await store.voicebox.add(message(en.id, 'c1', { callerNumber: '' }));
      await until(m, () => smtp.received.length === 2);
      await m.runOnce();
      expect(smtp.received[1]!.subject).toBe('New voicebox message from unknown');
      expect(smtp.received).toHaveLength(2);
      expect(await store.mailOutbox.pending()).toBe(0);
    } finally {
      await smtp.close();
    }
  });

  it('a mail server that is down delays the mail; it arrives once the server is back', async () => {
    port = await freePort();
    const w = workplace('c1', { email: 'erika@example.com' });
    await store.workplaces.put(w);
    await store.voicebox.add(message(w.id, 'c1'));
    const outcomes: string[] = [];
    const m = mailer({ onOutcome: (o) => outcomes.push(o) });
    // nothing listens: every attempt fails and the job waits, backing off
    await until(m, () => outcomes.filter((o) => o === 'retry').length >= 3);
    expect(await store.mailOutbox.pending()).toBe(1);
    const smtp = await startSmtp(port);
    try {
      await until(m, () => smtp.received.length === 1);
      expect(smtp.received[0]!.attachments).toHaveLength(1);
      expect(await store.mailOutbox.pending()).toBe(0);
    } finally {
      await smtp.close();
    }
  });

  it('a sender that dies holding a job leaves it to another one when its lease runs out; a job is sent once', async () => {
    port = await freePort();
    const smtp = await startSmtp(port);
    try {
      const w = workplace('c1', { email: 'erika@example.com' });
      await store.workplaces.put(w);
      await store.voicebox.add(message(w.id, 'c1'));
      // the first sender claims the job and dies before sending
      const [job] = await store.mailOutbox.due(Date.now(), 10);
      expect(await store.mailOutbox.claim(job!, 'ctl-dead', Date.now() + 300)).toBeDefined();
      // a second claim of the same state fails: two senders never hold one job
      expect(await store.mailOutbox.claim(job!, 'ctl-b', Date.now() + 300)).toBeUndefined();
      const a = mailer({ holder: 'ctl-a' });
      const b = mailer({ holder: 'ctl-b' });
      await Promise.all([a.runOnce(), b.runOnce()]);
      expect(smtp.received).toHaveLength(0); // still leased
      await until(a, () => smtp.received.length === 1);
      await Promise.all([a.runOnce(), b.runOnce()]);
      expect(smtp.received).toHaveLength(1);
    } finally {
      await smtp.close();
    }
  });

  it('a message deleted before it was mailed is not mailed', async () => {
    port = await freePort();
    const smtp = await startSmtp(port);
    try {
      const w = workplace('c1', { email: 'erika@example.com' });
      await store.workplaces.put(w);
      const msg = message(w.id, 'c1');
      await store.voicebox.add(msg);
      await store.voicebox.delete(w.id, msg.id);
      await mailer().runOnce();
      expect(smtp.received).toHaveLength(0);
      expect(await store.mailOutbox.pending()).toBe(0);
    } finally {
      await smtp.close();
    }
  });
});
