import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmtpMailer, renderMessage } from '../../src/mail/smtp.js';
import { startSmtpServer } from '../support/smtp-server.js';

describe('SMTP client', () => {
  let server: Awaited<ReturnType<typeof startSmtpServer>>;
  beforeAll(async () => {
    server = await startSmtpServer({ requireAuth: '\0mailer\0s3cret' });
  });
  afterAll(async () => server.close());

  it('sends a mail with AUTH PLAIN, envelope, UTF-8 subject and dot-stuffed body', async () => {
    const mailer = createSmtpMailer(`smtp://mailer:s3cret@127.0.0.1:${server.port}`);
    await mailer.send({
      from: 'pbx@example.com',
      to: 'erika@example.com',
      subject: 'Einladung für Erika',
      text: 'Hallo\n.hidden line\nEnde',
    });
    const mail = server.mails.at(-1)!;
    expect(mail.from).toBe('pbx@example.com');
    expect(mail.to).toEqual(['erika@example.com']);
    expect(mail.data).toContain(
      `Subject: =?UTF-8?B?${Buffer.from('Einladung für Erika').toString('base64')}?=`,
    );
    expect(mail.data).toContain('\nHallo\n.hidden line\nEnde\n');
  });

  it('rejects with the server line when authentication fails', async () => {
    const mailer = createSmtpMailer(`smtp://mailer:wrong@127.0.0.1:${server.port}`);
    await expect(
      mailer.send({ from: 'pbx@example.com', to: 'a@example.com', subject: 's', text: 't' }),
    ).rejects.toThrow(/535 bad auth/);
  });

  it('refuses addresses that could inject SMTP commands or headers', () => {
    expect(() =>
      renderMessage({ from: 'a@b.c', to: 'x@y.z>\r\nRCPT TO:<evil@e.f', subject: 's', text: 't' }),
    ).toThrow(/invalid mail address/);
    expect(
      renderMessage({ from: 'a@b.c', to: 'x@y.z', subject: 'a\r\nBcc: evil@e.f', text: 't' }),
    ).not.toMatch(/\r\nBcc:/);
  });

  it('rejects when nothing listens', async () => {
    const mailer = createSmtpMailer('smtp://127.0.0.1:1');
    await expect(mailer.send({ from: 'a@b.c', to: 'x@y.z', subject: 's', text: 't' })).rejects.toThrow();
  });
});
