import WebSocket from 'ws';

export interface AriEvent {
  type: string;
  application: string;
  timestamp: string;
  [k: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

// Response bodies are checked field by field in tests; `any` keeps those checks short.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonBody = any;

/** A minimal ARI test client over fetch + ws, independent of the production client. */
export class TestAri {
  readonly events: AriEvent[] = [];
  private ws?: WebSocket;
  private listeners = new Set<() => void>();

  constructor(
    readonly baseUrl: string,
    readonly apps: string,
    private readonly auth = 'Basic ' + Buffer.from('ari:ari').toString('base64'),
  ) {}

  async connect(): Promise<void> {
    const ws = new WebSocket(`${this.baseUrl.replace('http', 'ws')}/ari/events?app=${this.apps}`, {
      headers: { authorization: this.auth },
    });
    ws.on('message', (data) => {
      this.events.push(JSON.parse(String(data)));
      for (const l of [...this.listeners]) l();
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    this.ws = ws;
  }

  close(): void {
    this.ws?.terminate();
  }

  async req(
    method: string,
    path: string,
    query: Record<string, string | number | boolean> = {},
    body?: unknown,
  ): Promise<{ status: number; body: JsonBody }> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
    const res = await fetch(`${this.baseUrl}/ari${path}${qs ? '?' + qs : ''}`, {
      method,
      headers: {
        authorization: this.auth,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // binary or plain body
    }
    return { status: res.status, body: parsed };
  }

  /** Waits for the first event (from index `from`) matching `pred`. */
  waitFor(pred: (e: AriEvent) => boolean, timeoutMs = 3000, from = 0): Promise<AriEvent> {
    const find = () => this.events.slice(from).find(pred);
    const hit = find();
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const l = () => {
        const e = find();
        if (e) {
          this.listeners.delete(l);
          clearTimeout(t);
          resolve(e);
        }
      };
      const t = setTimeout(() => {
        this.listeners.delete(l);
        reject(new Error(`timed out waiting for event; got: ${this.events.map((e) => e.type).join(', ')}`));
      }, timeoutMs);
      this.listeners.add(l);
    });
  }

  typesFor(id: string): string[] {
    return this.events.filter((e) => e.channel?.id === id || e.peer?.id === id).map((e) => e.type);
  }
}

export const README_DIALPLAN = `[from-trunk]
exten => _[+0-9].,1,Stasis(pbx,inbound)
[lab-devices]
exten => _[+0-9a-zA-Z*#].,1,Stasis(labdriver,device,\${EXTEN})
[lab-pstn]
exten => _[+0-9a-zA-Z*#].,1,Stasis(labdriver,pstn,\${EXTEN})
`;
