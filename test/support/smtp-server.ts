/** A tiny SMTP server for tests: accepts every mail, keeps the envelope and the DATA text. */
import net from 'node:net';

export interface ReceivedMail {
  from: string;
  to: string[];
  data: string;
  auth?: string;
}

export async function startSmtpServer(opts: { requireAuth?: string } = {}) {
  const mails: ReceivedMail[] = [];
  const waiters: Array<(m: ReceivedMail) => void> = [];
  const server = net.createServer((socket) => {
    socket.setEncoding('utf8');
    let buffer = '';
    let current: ReceivedMail = { from: '', to: [], data: '' };
    let inData = false;
    socket.write('220 test ESMTP\r\n');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let i: number;
      while ((i = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            mails.push(current);
            waiters.shift()?.(current);
            current = { from: '', to: [], data: '' };
            socket.write('250 queued\r\n');
          } else current.data += (line.startsWith('..') ? line.slice(1) : line) + '\n';
          continue;
        }
        const upper = line.toUpperCase();
        if (upper.startsWith('EHLO')) socket.write('250-test\r\n250 AUTH PLAIN\r\n');
        else if (upper.startsWith('AUTH PLAIN ')) {
          current.auth = Buffer.from(line.slice(11), 'base64').toString('utf8');
          socket.write(
            opts.requireAuth && current.auth !== opts.requireAuth ? '535 bad auth\r\n' : '235 ok\r\n',
          );
        } else if (upper.startsWith('MAIL FROM:')) {
          current.from = line.slice(10).replace(/[<>]/g, '');
          socket.write('250 ok\r\n');
        } else if (upper.startsWith('RCPT TO:')) {
          current.to.push(line.slice(8).replace(/[<>]/g, ''));
          socket.write('250 ok\r\n');
        } else if (upper === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (upper === 'QUIT') {
          socket.end('221 bye\r\n');
        } else socket.write('500 unknown\r\n');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mails,
    /** the next mail received (or the first one not yet awaited) */
    next(): Promise<ReceivedMail> {
      return new Promise((resolve) => waiters.push(resolve));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
