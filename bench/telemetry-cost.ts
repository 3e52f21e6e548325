/**
 * What events and call records cost per call — `npx tsx bench/telemetry-cost.ts [--calls N]`.
 *
 * Drives the call-event bus (src/calls/reporting/call-events.ts) with the facts of an answered inbound
 * call (started, target, ringing 2 legs, answered, ended: 3 events + 1 call record) for N
 * calls, in bursts of 100 calls per tick as a busy controller would see them, and reports:
 *   - CPU of this process per call: the bus alone (sinks do nothing), then with the Redis
 *     backend (queueing, JSON, node-redis encoding, batched pipeline writes);
 *   - redis-server CPU per call (INFO used_cpu_*), round trips (batches) per call;
 *   - bytes in Redis per call record (MEMORY USAGE of the workplace lists and the company view)
 *     and per event (the per-company resume stream).
 * A throwaway redis-server is started (tools/redis-server.ts). Results: stdout and
 * bench/telemetry-results.md.
 */
import { writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { createClient } from 'redis';
import { createCallEvents, type TracedSession } from '../src/calls/reporting/call-events.js';
import type { Workplace } from '../src/domain/model.js';
import type { RingLeg } from '../src/domain/ring-plan.js';
import { createRedisBackend } from '../src/events/redis-backend.js';
import { startRedisServer } from '../tools/redis-server.js';

const args = process.argv.slice(2);
const N = Number(args[args.indexOf('--calls') + 1]) || 20_000;
const WORKPLACES = 200;
const BURST = 100;
const logger = pino({ level: 'silent' });

const workplaces: Workplace[] = Array.from({ length: WORKPLACES }, (_, i) => ({
  id: `wp-${String(i).padStart(4, '0')}-6f1c2a9e-8d7b-4e3f-a1b2-c3d4e5f6a7b8`.slice(0, 36),
  companyId: '3f2b8c1e-5d4a-4b6c-9e8f-7a6b5c4d3e2f',
  number: `+49301234${String(i).padStart(4, '0')}`,
  devices: [{ id: `dev-${i}-a` }, { id: `dev-${i}-b` }],
})) as unknown as Workplace[];
const legs = (w: Workplace): RingLeg[] => [
  { kind: 'device', endpoint: `PJSIP/u${w.id.slice(3, 7)}a`, deviceId: `dev-${w.id}-a` },
  { kind: 'external', endpoint: 'PJSIP/+491701234567@trunk', number: '+491701234567', confirm: false },
];

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function drive(bus: ReturnType<typeof createCallEvents>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const w = workplaces[i % WORKPLACES]!;
    const session: TracedSession = {
      channelId: `17644860${String(i).padStart(8, '0')}.${i}`,
      callerNumber: '+4989111222',
      calledExten: w.number,
    };
    bus.started(session, 'inbound');
    bus.emit(session, { type: 'target', workplace: w, callerNumber: '+4989111222' });
    const l = legs(w);
    bus.emit(session, { type: 'ringing', legs: l });
    bus.emit(session, { type: 'answered', leg: l[0]! });
    bus.ended(session, 16);
    // a burst per tick, as calls end together on a busy controller
    if (i % BURST === BURST - 1) await new Promise((r) => setImmediate(r));
  }
}

async function main(): Promise<void> {
  const redis = await startRedisServer();
  const admin = createClient({ url: redis.url });
  await admin.connect();
  try {
    // 1. the bus alone
    const nullBus = createCallEvents({ publish: () => {}, records: () => {}, logger });
    await drive(nullBus, 2000); // warm-up
    let t = cpuMicros();
    await drive(nullBus, N);
    const busOnly = (cpuMicros() - t) / N;

    // 2. with the Redis backend
    const backend = await createRedisBackend({ url: redis.url, prefix: 'bench:', logger });
    const bus = createCallEvents({
      publish: (e) => backend.events.append(e),
      records: (r) => backend.records.add(r),
      logger,
    });
    await drive(bus, 2000);
    await backend.flush();
    await admin.flushAll();
    const serverCpu = async () => {
      const info = await admin.info('cpu');
      const get = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
      return (get('used_cpu_user') + get('used_cpu_sys')) * 1e6;
    };
    const trips0 = backend.roundTrips();
    const s0 = await serverCpu();
    t = cpuMicros();
    const wall = performance.now();
    await drive(bus, N);
    await backend.flush();
    const withRedis = (cpuMicros() - t) / N;
    const wallMs = performance.now() - wall;
    const server = ((await serverCpu()) - s0) / N;
    const trips = (backend.roundTrips() - trips0) / N;
    if (backend.writeErrors() > 0) console.warn(`write errors: ${backend.writeErrors()}`);

    // 3. bytes in Redis
    const keys = await admin.keys('bench:calls:*');
    let listBytes = 0;
    let records = 0;
    let companyBytes = 0;
    for (const k of keys) {
      const bytes = Number(await admin.memoryUsage(k));
      if (k.startsWith('bench:calls:w:')) {
        listBytes += bytes;
        records += Number(await admin.zCard(k));
      } else companyBytes += bytes;
    }
    const companyRecords = Number(await admin.zCard(keys.find((k) => k.startsWith('bench:calls:c:'))!));
    const stream = 'bench:events:' + workplaces[0]!.companyId;
    const streamBytes = Number(await admin.memoryUsage(stream, { SAMPLES: 0 }));
    const streamLen = Number(await admin.xLen(stream));
    const sample =
      (
        await admin.zRange(
          keys.find((k) => k.startsWith('bench:calls:w:'))!,
          0,
          0,
        )
      )[0] ?? '';
    await backend.close();

    const rows: Array<[string, string]> = [
      [
        'calls',
        `${N} (answered inbound: 3 events + 1 call record each), ${WORKPLACES} workplaces, bursts of ${BURST}`,
      ],
      ['CPU per call, bus only (this process)', `${busOnly.toFixed(1)} µs`],
      ['CPU per call, bus + Redis backend (this process)', `${withRedis.toFixed(1)} µs`],
      ['redis-server CPU per call', `${server.toFixed(1)} µs`],
      ['Redis round trips per call (batches; none on the call path)', trips.toFixed(3)],
      [
        'wall time for the run',
        `${(wallMs / 1000).toFixed(2)} s (${Math.round(N / (wallMs / 1000))} calls/s through the writer)`,
      ],
      ['call record JSON', `${Buffer.byteLength(sample)} bytes`],
      [
        'bytes in Redis per record, workplace list',
        `${(listBytes / records).toFixed(0)} (${records} records)`,
      ],
      [
        'bytes in Redis per record, company view',
        `${(companyBytes / companyRecords).toFixed(0)} (${companyRecords} records)`,
      ],
      [
        'bytes per event in the resume stream',
        `${(streamBytes / streamLen).toFixed(0)} (capped at ${streamLen} events/company)`,
      ],
    ];
    const table = ['| measure | value |', '| --- | --- |', ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join(
      '\n',
    );
    console.log(table);
    writeFileSync(
      new URL('./telemetry-results.md', import.meta.url),
      `# Events and call records: cost per call\n\n\`npx tsx bench/telemetry-cost.ts --calls ${N}\` on ${new Date().toISOString()}\n\n${table}\n`,
    );
  } finally {
    await admin.close();
    await redis.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
