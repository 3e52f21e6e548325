/**
 * Voicebox by e-mail: every new message is mailed to its workplace's address with the WAV
 * attached (or a link to the web app when it is larger than `maxAttachBytes`), in the
 * workplace's language. It runs off the call path: the voicebox flow only stores the message,
 * and the store writes the mail job in the same step (store/mail-outbox.ts). This sender takes
 * due jobs from the outbox and keeps retrying while the mail server is down (backing off up to
 * `maxBackoffMs`), so a message is never lost to a mail outage; it gives up only on a job older
 * than `giveUpAfterMs` (logged as an error). Sending uses nodemailer (SMTP with STARTTLS, or
 * implicit TLS for smtps://).
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { VoiceboxMessage, Workplace } from '../domain/model.js';
import type { MailJob, Store } from '../store/store.js';

export interface VoiceboxMailerOptions {
  store: Pick<Store, 'mailOutbox' | 'voicebox' | 'workplaces'>;
  /** the recordings (ARI stored recordings in production) */
  recordings: { getFile(name: string): Promise<{ body: Buffer } | undefined> } | undefined;
  /** nodemailer transport (createTransport(SMTP_URL) in production) */
  transport: Pick<Transporter, 'sendMail'>;
  from: string;
  /** where the web app is reached; the link in a mail whose audio is too large */
  publicUrl?: string;
  /** this sender's name in the job leases (the controller id) */
  holder: string;
  logger: Logger;
  /** attach the WAV up to this size, else link to it (bytes) */
  maxAttachBytes?: number;
  pollMs?: number;
  /** first retry after this long, doubling up to maxBackoffMs */
  firstBackoffMs?: number;
  maxBackoffMs?: number;
  /** a job is dropped (logged as an error) once its message is older than this */
  giveUpAfterMs?: number;
  /** how long a sender holds a job it works on */
  leaseMs?: number;
  now?: () => number;
  /** counts mails sent, failed attempts and jobs given up */
  onOutcome?: (outcome: 'sent' | 'retry' | 'skipped' | 'given-up') => void;
}

export function createMailTransport(smtpUrl: string): Transporter {
  return nodemailer.createTransport(smtpUrl, {
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  } as never);
}

const TEXT = {
  de: {
    subject: (from: string) => `Neue Sprachnachricht von ${from}`,
    unknown: 'unbekannt',
    body: (from: string, at: string, seconds: number) =>
      `Sie haben eine neue Sprachnachricht in Ihrer Voicebox.\n\nVon: ${from}\nEmpfangen: ${at}\nLänge: ${duration(seconds)}\n`,
    attached: 'Die Nachricht ist als WAV-Datei angehängt.',
    link: (url: string) => `Die Nachricht ist zu groß für den Anhang. Anhören in der Web-App: ${url}`,
    noAudio: 'Die Aufnahme ist nicht mehr verfügbar.',
  },
  en: {
    subject: (from: string) => `New voicebox message from ${from}`,
    unknown: 'unknown',
    body: (from: string, at: string, seconds: number) =>
      `You have a new message in your voicebox.\n\nFrom: ${from}\nReceived: ${at}\nLength: ${duration(seconds)}\n`,
    attached: 'The message is attached as a WAV file.',
    link: (url: string) => `The message is too large to attach. Listen to it in the web app: ${url}`,
    noAudio: 'The recording is no longer available.',
  },
} as const;

function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The mail for one message (pure, for tests). */
export function renderVoiceboxMail(
  message: VoiceboxMessage,
  workplace: Pick<Workplace, 'email' | 'language' | 'timezone' | 'firstName' | 'lastName'>,
  audio: { kind: 'attach'; body: Buffer } | { kind: 'link'; url: string } | { kind: 'none' },
  from: string,
) {
  const t = TEXT[workplace.language] ?? TEXT.de;
  const caller = message.callerNumber || t.unknown;
  const at = new Intl.DateTimeFormat(workplace.language === 'en' ? 'en-GB' : 'de-DE', {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: workplace.timezone,
  }).format(new Date(message.receivedAt));
  const tail = audio.kind === 'attach' ? t.attached : audio.kind === 'link' ? t.link(audio.url) : t.noAudio;
  const stamp = message.receivedAt.slice(0, 19).replace(/[:T]/g, '-');
  return {
    from,
    to: `${workplace.firstName} ${workplace.lastName} <${workplace.email}>`,
    subject: t.subject(caller),
    text: `${t.body(caller, at, message.durationSeconds)}\n${tail}\n`,
    ...(audio.kind === 'attach'
      ? {
          attachments: [
            {
              filename: `voicebox-${stamp}-${caller.replace(/[^+\d]/g, '') || 'anonym'}.wav`,
              content: audio.body,
              contentType: 'audio/wav',
            },
          ],
        }
      : {}),
  };
}

export class VoiceboxMailer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;
  private readonly o: Required<Omit<VoiceboxMailerOptions, 'publicUrl' | 'recordings' | 'onOutcome'>> &
    Pick<VoiceboxMailerOptions, 'publicUrl' | 'recordings' | 'onOutcome'>;

  constructor(options: VoiceboxMailerOptions) {
    this.o = {
      maxAttachBytes: 10 * 1024 * 1024,
      pollMs: 2000,
      firstBackoffMs: 30_000,
      maxBackoffMs: 30 * 60_000,
      giveUpAfterMs: 3 * 86_400_000,
      leaseMs: 5 * 60_000,
      now: Date.now,
      ...options,
    };
  }

  start(): void {
    if (this.timer) return;
    this.stopped = false;
    this.timer = setInterval(() => void this.runOnce(), this.o.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** sends what is due now; one pass at a time; resolves with the number of jobs handled */
  runOnce(): Promise<number> {
    this.running ??= this.pass()
      .catch((err: unknown) => {
        // the store is unreachable: the jobs stay where they are, the next pass tries again
        this.o.logger.warn({ err }, 'voicebox mail: cannot read the outbox');
        return 0;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<number> {
    const jobs = await this.o.store.mailOutbox.due(this.o.now(), 20);
    let handled = 0;
    for (const job of jobs) {
      if (this.stopped) break;
      const claimed = await this.o.store.mailOutbox.claim(job, this.o.holder, this.o.now() + this.o.leaseMs);
      if (!claimed) continue; // another controller has it
      handled += 1;
      await this.send(claimed);
    }
    return handled;
  }

  private async send(job: MailJob): Promise<void> {
    const { store, logger } = this.o;
    const log = logger.child({ workplaceId: job.workplaceId, messageId: job.messageId });
    const message = await store.voicebox.get(job.workplaceId, job.messageId);
    const workplace = message
      ? await store.workplaces.get(message.companyId, message.workplaceId)
      : undefined;
    // deleted before it could be mailed, mail switched off, or nowhere to send it: nothing to do
    if (!message || !workplace || workplace.voicebox.mail === false || !workplace.email) {
      await store.mailOutbox.finish(job);
      this.o.onOutcome?.('skipped');
      return;
    }
    try {
      const audio = await this.audioFor(message, job);
      await this.o.transport.sendMail(renderVoiceboxMail(message, workplace, audio, this.o.from));
      await store.mailOutbox.finish(job);
      log.info({ attempts: job.attempts + 1, audio: audio.kind }, 'voicebox message mailed');
      this.o.onOutcome?.('sent');
    } catch (err) {
      const age = this.o.now() - Date.parse(message.receivedAt);
      if (age > this.o.giveUpAfterMs) {
        await store.mailOutbox.finish(job);
        log.error(
          { err, attempts: job.attempts + 1 },
          'voicebox mail given up (the message stays in the voicebox)',
        );
        this.o.onOutcome?.('given-up');
        return;
      }
      const backoff = Math.min(this.o.maxBackoffMs, this.o.firstBackoffMs * 2 ** job.attempts);
      await store.mailOutbox.retry(job, this.o.now() + backoff, String((err as Error)?.message ?? err));
      log.warn({ err, attempts: job.attempts + 1, retryInMs: backoff }, 'voicebox mail failed; will retry');
      this.o.onOutcome?.('retry');
    }
  }

  /**
   * The audio to attach. A recording Asterisk does not have (yet) is retried like a mail
   * failure for a few attempts, then the mail goes without it.
   */
  private async audioFor(
    message: VoiceboxMessage,
    job: MailJob,
  ): Promise<{ kind: 'attach'; body: Buffer } | { kind: 'link'; url: string } | { kind: 'none' }> {
    const file = await this.o.recordings?.getFile(message.recordingName);
    if (!file) {
      if (job.attempts < 3 && this.o.recordings) throw new Error('the recording is not available (yet)');
      return { kind: 'none' };
    }
    if (file.body.length > this.o.maxAttachBytes && this.o.publicUrl) {
      return { kind: 'link', url: new URL('/app/#/me/voicebox', this.o.publicUrl).toString() };
    }
    return { kind: 'attach', body: file.body };
  }
}
