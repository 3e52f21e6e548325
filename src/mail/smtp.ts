/**
 * A minimal SMTP client over node:net (smtp://) or node:tls (smtps://), enough to send the
 * invitation and password-reset mails: EHLO, AUTH PLAIN when the URL has credentials, MAIL
 * FROM, RCPT TO, DATA with dot-stuffing, QUIT. No STARTTLS: use smtps:// (implicit TLS) or a
 * relay on the same host. Every reply code is checked; a failure rejects with the server's line.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

export interface Mail {
  from: string;
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
}

const TIMEOUT_MS = 15_000;

/** RFC 2047 encoded-word for a non-ASCII subject. */
function encodeHeader(value: string): string {
  return /^[\x20-\x7e]*$/.test(value)
    ? value
    : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

function address(value: string): string {
  if (!/^[^\s<>@]+@[^\s<>@]+$/.test(value)) throw new Error('invalid mail address');
  return value;
}

/** The message as sent after DATA (CRLF lines, leading dots doubled, ending with CRLF.CRLF). */
export function renderMessage(mail: Mail, now = new Date()): string {
  const domain = mail.from.split('@')[1] ?? 'localhost';
  const headers = [
    `From: ${address(mail.from)}`,
    `To: ${address(mail.to)}`,
    `Subject: ${encodeHeader(mail.subject.replace(/[\r\n]+/g, ' '))}`,
    `Date: ${now.toUTCString()}`,
    `Message-ID: <${randomUUID()}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ];
  const body = mail.text
    .replace(/\r?\n/g, '\r\n')
    .split('\r\n')
    .map((l) => (l.startsWith('.') ? `.${l}` : l));
  return [...headers, '', ...body].join('\r\n') + '\r\n.\r\n';
}

export function createSmtpMailer(smtpUrl: string): Mailer {
  const url = new URL(smtpUrl);
  const secure = url.protocol === 'smtps:';
  if (!secure && url.protocol !== 'smtp:') throw new Error('SMTP_URL must be smtp:// or smtps://');
  const host = url.hostname;
  const port = Number(url.port || (secure ? 465 : 25));
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);

  return {
    send(mail) {
      return new Promise<void>((resolve, reject) => {
        const socket = secure ? tls.connect({ host, port, servername: host }) : net.connect({ host, port });
        socket.setTimeout(TIMEOUT_MS);
        let buffer = '';
        let waiting: ((line: string) => void) | undefined;
        const pending: string[] = [];
        let done = false;
        const finish = (err?: Error) => {
          if (done) return;
          done = true;
          socket.destroy();
          if (err) reject(err);
          else resolve();
        };
        socket.on('timeout', () => finish(new Error('SMTP server timed out')));
        socket.on('error', (err) => finish(err));
        socket.on('close', () => finish(new Error('SMTP connection closed early')));
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          buffer += chunk;
          let i: number;
          while ((i = buffer.indexOf('\r\n')) >= 0) {
            const line = buffer.slice(0, i);
            buffer = buffer.slice(i + 2);
            // multi-line replies: "250-..." continue, "250 ..." ends
            if (/^\d{3}-/.test(line)) continue;
            if (waiting) {
              const w = waiting;
              waiting = undefined;
              w(line);
            } else pending.push(line);
          }
        });
        const reply = () =>
          new Promise<string>((res) => {
            const line = pending.shift();
            if (line !== undefined) res(line);
            else waiting = res;
          });
        const expect = async (codes: number[]) => {
          const line = await reply();
          const code = Number(line.slice(0, 3));
          if (!codes.includes(code)) throw new Error(`SMTP server answered: ${line}`);
        };
        const command = async (cmd: string, codes: number[]) => {
          socket.write(cmd + '\r\n');
          await expect(codes);
        };
        (async () => {
          await expect([220]);
          await command(`EHLO ${url.searchParams.get('helo') ?? 'localhost'}`, [250]);
          if (user) {
            const token = Buffer.from(`\0${user}\0${pass}`, 'utf8').toString('base64');
            await command(`AUTH PLAIN ${token}`, [235]);
          }
          await command(`MAIL FROM:<${address(mail.from)}>`, [250]);
          await command(`RCPT TO:<${address(mail.to)}>`, [250, 251]);
          await command('DATA', [354]);
          socket.write(renderMessage(mail));
          await expect([250]);
          socket.write('QUIT\r\n');
          finish();
        })().catch((err: unknown) => finish(err as Error));
      });
    },
  };
}
