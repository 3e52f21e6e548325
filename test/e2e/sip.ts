/**
 * Two small SIP user agents over real UDP, for the e2e tier's calls from real registered phones:
 *
 * - `SipPhone`: a desk phone. Registers with the credentials the API pushed (digest auth), places
 *   calls (INVITE with an SDP offer, digest auth on 401/407, ACK, BYE) and answers Asterisk's
 *   OPTIONS pings. Bound to a loopback address of the test's choice (127.0.0.2, 127.0.0.3, …) so
 *   a test can place a phone inside or outside a location's networks.
 * - `StandInCarrier`: the carrier behind the trunk. Records every INVITE it receives (request
 *   URI, From, P-Asserted-Identity, Privacy) and answers it (200 with SDP, or a final error).
 *
 * Only what these tests need of RFC 3261: one dialog at a time per call, no re-INVITEs, no
 * forking, no TCP. Media is never sent (the SDP names a port nobody listens on).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface SipMessage {
  /** request: method; response: undefined */
  method?: string;
  uri?: string;
  status?: number;
  reason?: string;
  headers: Map<string, string[]>;
  body: string;
  raw: string;
}

const COMPACT: Record<string, string> = {
  f: 'from',
  t: 'to',
  i: 'call-id',
  v: 'via',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
};

export function parseSip(raw: string): SipMessage {
  const [head, ...rest] = raw.split('\r\n\r\n');
  const lines = head!.split('\r\n');
  const first = lines.shift()!;
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    let name = line.slice(0, i).trim().toLowerCase();
    name = COMPACT[name] ?? name;
    const list = headers.get(name) ?? [];
    list.push(line.slice(i + 1).trim());
    headers.set(name, list);
  }
  const body = rest.join('\r\n\r\n');
  const status = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(first);
  if (status) return { status: Number(status[1]), reason: status[2], headers, body, raw };
  const [method, uri] = first.split(' ');
  return { method: method!, uri: uri!, headers, body, raw };
}

export const header = (m: SipMessage, name: string): string | undefined => m.headers.get(name)?.[0];

/** The user part of the first SIP URI in a header value ("Erika" <sip:+4930…@host>;tag=x → +4930…). */
export function uriUser(value: string | undefined): string | undefined {
  const m = /sips?:([^@;>]+)@/.exec(value ?? '');
  return m?.[1];
}

const token = () => randomBytes(6).toString('hex');
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

function digestParams(challenge: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of challenge.replace(/^Digest\s+/i, '').matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]+))/g)) {
    out[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  }
  return out;
}

/** The Authorization value for an MD5 challenge (qop=auth when offered). */
function authorization(
  challenges: string[],
  method: string,
  uri: string,
  user: string,
  password: string,
): string {
  const md5Challenge =
    challenges.find((c) => /algorithm="?MD5"?(,|\s|$)/i.test(c)) ??
    challenges.find((c) => !/algorithm=/i.test(c)) ??
    challenges[0]!;
  const p = digestParams(md5Challenge);
  const ha1 = md5(`${user}:${p.realm}:${password}`);
  const ha2 = md5(`${method}:${uri}`);
  const fields = [
    `username="${user}"`,
    `realm="${p.realm}"`,
    `nonce="${p.nonce}"`,
    `uri="${uri}"`,
    'algorithm=MD5',
  ];
  if (p.qop && /\bauth\b/.test(p.qop)) {
    const cnonce = token();
    const nc = '00000001';
    fields.push(
      `response="${md5(`${ha1}:${p.nonce}:${nc}:${cnonce}:auth:${ha2}`)}"`,
      'qop=auth',
      `nc=${nc}`,
      `cnonce="${cnonce}"`,
    );
  } else {
    fields.push(`response="${md5(`${ha1}:${p.nonce}:${ha2}`)}"`);
  }
  if (p.opaque !== undefined) fields.push(`opaque="${p.opaque}"`);
  return `Digest ${fields.join(', ')}`;
}

function sdp(address: string, port: number): string {
  return [
    'v=0',
    `o=- ${Date.now()} 1 IN IP4 ${address}`,
    's=-',
    `c=IN IP4 ${address}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 8 0 101`,
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

abstract class UdpAgent {
  protected socket!: Socket;
  port = 0;
  private waiters: Array<{ match: (m: SipMessage) => boolean; resolve: (m: SipMessage) => void }> = [];

  constructor(readonly address: string) {}

  async open(port = 0): Promise<this> {
    this.socket = createSocket('udp4');
    this.socket.on('message', (buf, rinfo) => this.onMessage(parseSip(buf.toString()), rinfo));
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(port, this.address, () => resolve());
    });
    this.port = this.socket.address().port;
    return this;
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }

  protected send(text: string, host: string, port: number): void {
    this.socket.send(Buffer.from(text), port, host);
  }

  protected next(match: (m: SipMessage) => boolean, ms: number, what: string): Promise<SipMessage> {
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (m: SipMessage) => (clearTimeout(timer), resolve(m)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${this.address}:${this.port}: no ${what} within ${ms} ms`));
      }, ms);
      this.waiters.push(waiter);
    });
  }

  protected deliver(m: SipMessage): boolean {
    const w = this.waiters.find((x) => x.match(m));
    if (!w) return false;
    this.waiters = this.waiters.filter((x) => x !== w);
    w.resolve(m);
    return true;
  }

  /** A response to a request, with the request's Via, From, To (tagged), Call-ID and CSeq. */
  protected respond(
    req: SipMessage,
    rinfo: RemoteInfo,
    status: number,
    reason: string,
    extra: string[] = [],
    body = '',
  ): void {
    const to = header(req, 'to') ?? '';
    const lines = [
      `SIP/2.0 ${status} ${reason}`,
      ...(req.headers.get('via') ?? []).map((v) => `Via: ${v}`),
      `From: ${header(req, 'from')}`,
      `To: ${/;tag=/.test(to) || status === 100 ? to : `${to};tag=${this.tagFor(req)}`}`,
      `Call-ID: ${header(req, 'call-id')}`,
      `CSeq: ${header(req, 'cseq')}`,
      ...extra,
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ];
    this.send(lines.join('\r\n'), rinfo.address, rinfo.port);
  }

  private tags = new Map<string, string>();
  protected tagFor(req: SipMessage): string {
    const id = header(req, 'call-id') ?? '';
    let tag = this.tags.get(id);
    if (!tag) this.tags.set(id, (tag = token()));
    return tag;
  }

  protected abstract onMessage(m: SipMessage, rinfo: RemoteInfo): void;
}

export interface CallResult {
  /** the final status of the INVITE (after authentication) */
  status: number;
  /** every provisional and final status seen, in order */
  statuses: number[];
}

/** A registered desk phone (see the file's header). */
export class SipPhone extends UdpAgent {
  private cseq = 1;
  private readonly callId = `${token()}@${this.address}`;
  private readonly fromTag = token();

  constructor(
    address: string,
    readonly server: { host: string; port: number },
    readonly user: string,
    readonly password: string,
  ) {
    super(address);
  }

  private get contact(): string {
    return `<sip:${this.user}@${this.address}:${this.port}>`;
  }

  private request(
    method: string,
    uri: string,
    opts: {
      callId: string;
      fromTag: string;
      toTag?: string;
      to: string;
      cseq: number;
      extra?: string[];
      body?: string;
      branch?: string;
    },
  ): string {
    const body = opts.body ?? '';
    return [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${this.address}:${this.port};rport;branch=z9hG4bK${opts.branch ?? token()}`,
      'Max-Forwards: 70',
      `From: <sip:${this.user}@${this.server.host}>;tag=${opts.fromTag}`,
      `To: ${opts.to}${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
      `Call-ID: ${opts.callId}`,
      `CSeq: ${opts.cseq} ${method === 'ACK' ? 'ACK' : method}`,
      `Contact: ${this.contact}`,
      'User-Agent: e2e-phone',
      ...(opts.extra ?? []),
      ...(body ? ['Content-Type: application/sdp'] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
  }

  /** REGISTER (with digest auth); the final status: 200 registered, 403/401 refused. */
  async register(expires = 300, ms = 5000): Promise<number> {
    const uri = `sip:${this.server.host}:${this.server.port}`;
    const to = `<sip:${this.user}@${this.server.host}>`;
    let auth: string[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const cseq = this.cseq++;
      const reply = this.next(
        (m) => m.status !== undefined && m.status >= 200 && header(m, 'cseq') === `${cseq} REGISTER`,
        ms,
        `answer to REGISTER ${cseq}`,
      );
      this.send(
        this.request('REGISTER', uri, {
          callId: this.callId,
          fromTag: this.fromTag,
          to,
          cseq,
          extra: [...auth, `Expires: ${expires}`],
        }),
        this.server.host,
        this.server.port,
      );
      const m = await reply;
      if (m.status === 401 && attempt === 0) {
        auth = [
          `Authorization: ${authorization(m.headers.get('www-authenticate') ?? [], 'REGISTER', uri, this.user, this.password)}`,
        ];
        continue;
      }
      return m.status!;
    }
    return 401;
  }

  /**
   * Calls `number`: INVITE, authenticated when challenged; when answered, hangs up after
   * `holdMs` (BYE). Resolves with the final status (a timeout rejects).
   */
  async call(number: string, opts: { holdMs?: number; ms?: number } = {}): Promise<CallResult> {
    const ms = opts.ms ?? 10_000;
    const uri = `sip:${number}@${this.server.host}:${this.server.port}`;
    const to = `<${uri}>`;
    const callId = `${token()}@${this.address}`;
    const fromTag = token();
    const body = sdp(this.address, 40000);
    const statuses: number[] = [];
    let auth: string[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const cseq = this.cseq++;
      const branch = token();
      let final: (m: SipMessage) => void = () => {};
      const done = new Promise<SipMessage>((resolve) => (final = resolve));
      const timer = setTimeout(() => final({ status: 0, headers: new Map(), body: '', raw: '' }), ms);
      this.calls.set(callId, (m) => {
        if (header(m, 'cseq') !== `${cseq} INVITE`) return;
        statuses.push(m.status!);
        if (m.status! >= 200) final(m);
      });
      this.send(
        this.request('INVITE', uri, { callId, fromTag, to, cseq, extra: auth, body, branch }),
        this.server.host,
        this.server.port,
      );
      const m = await done;
      clearTimeout(timer);
      if (m.status === 0) {
        this.calls.delete(callId);
        throw new Error(`INVITE ${number}: no final answer within ${ms} ms (saw ${statuses.join(',')})`);
      }
      const toTag = /;tag=([^;>\s]+)/.exec(header(m, 'to') ?? '')?.[1];
      if (m.status! >= 300) {
        // a non-2xx final is acknowledged within its transaction (same branch)
        this.send(
          this.request('ACK', uri, { callId, fromTag, to, toTag, cseq, branch }).replace(
            /^CSeq: .*$/m,
            `CSeq: ${cseq} ACK`,
          ),
          this.server.host,
          this.server.port,
        );
        if ((m.status === 401 || m.status === 407) && attempt === 0) {
          const name = m.status === 401 ? 'www-authenticate' : 'proxy-authenticate';
          const field = m.status === 401 ? 'Authorization' : 'Proxy-Authorization';
          auth = [
            `${field}: ${authorization(m.headers.get(name) ?? [], 'INVITE', uri, this.user, this.password)}`,
          ];
          continue;
        }
        this.calls.delete(callId);
        return { status: m.status!, statuses };
      }
      // answered: ACK (a new transaction), hold, BYE
      const target = /<([^>]+)>/.exec(header(m, 'contact') ?? '')?.[1] ?? uri;
      this.send(
        this.request('ACK', target, { callId, fromTag, to, toTag, cseq }),
        this.server.host,
        this.server.port,
      );
      await new Promise((r) => setTimeout(r, opts.holdMs ?? 200));
      const byeSeq = this.cseq++;
      const bye = this.next(
        (r) => header(r, 'cseq') === `${byeSeq} BYE` && (r.status ?? 0) >= 200,
        ms,
        'answer to BYE',
      ).catch(() => undefined);
      this.send(
        this.request('BYE', target, { callId, fromTag, to, toTag, cseq: byeSeq }),
        this.server.host,
        this.server.port,
      );
      await bye;
      this.calls.delete(callId);
      return { status: m.status!, statuses };
    }
    throw new Error('unreachable');
  }

  private calls = new Map<string, (m: SipMessage) => void>();

  protected onMessage(m: SipMessage, rinfo: RemoteInfo): void {
    if (m.method) {
      // OPTIONS pings (qualify), a BYE from the far end, anything else: accept
      if (m.method !== 'ACK') this.respond(m, rinfo, 200, 'OK');
      return;
    }
    if (this.deliver(m)) return;
    this.calls.get(header(m, 'call-id') ?? '')?.(m);
  }
}

export interface CarrierInvite {
  /** the request URI's user part: the number the carrier is asked to connect */
  to: string;
  /** From's user part */
  from: string | undefined;
  /** P-Asserted-Identity's user part */
  pai: string | undefined;
  privacy: string | undefined;
  /** the raw From / P-Asserted-Identity headers */
  fromHeader: string | undefined;
  paiHeader: string | undefined;
  raw: string;
}

/** The carrier on the far side of the trunk (see the file's header). */
export class StandInCarrier extends UdpAgent {
  readonly invites: CarrierInvite[] = [];
  /** 200: answer every INVITE; anything else: that final status */
  answerWith = 200;

  protected onMessage(m: SipMessage, rinfo: RemoteInfo): void {
    if (!m.method) return;
    if (m.method === 'ACK') return;
    if (m.method !== 'INVITE') {
      this.respond(m, rinfo, 200, 'OK');
      return;
    }
    // a retransmission of an INVITE already seen is answered again, not recorded twice
    const id = header(m, 'call-id');
    const cseq = header(m, 'cseq');
    if (!this.seen.has(`${id} ${cseq}`)) {
      this.seen.add(`${id} ${cseq}`);
      this.invites.push({
        to: uriUser(m.uri) ?? '',
        from: uriUser(header(m, 'from')),
        pai: uriUser(header(m, 'p-asserted-identity')),
        privacy: header(m, 'privacy'),
        fromHeader: header(m, 'from'),
        paiHeader: header(m, 'p-asserted-identity'),
        raw: m.raw,
      });
      this.deliver(m);
    }
    this.respond(m, rinfo, 100, 'Trying');
    if (this.answerWith === 200) {
      this.respond(
        m,
        rinfo,
        200,
        'OK',
        [`Contact: <sip:carrier@${this.address}:${this.port}>`, 'Content-Type: application/sdp'],
        sdp(this.address, 40002),
      );
    } else {
      this.respond(m, rinfo, this.answerWith, this.answerWith === 486 ? 'Busy Here' : 'Declined');
    }
  }

  private seen = new Set<string>();

  /** Resolves with the next INVITE to arrive (or the first one already there after `from`). */
  async nextInvite(after: number, ms = 10_000): Promise<CarrierInvite> {
    if (this.invites.length > after) return this.invites[after]!;
    await this.next((m) => m.method === 'INVITE', ms, 'INVITE at the carrier');
    return this.invites[after]!;
  }
}
