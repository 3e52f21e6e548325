/**
 * The smallest useful ARI application, twice: answer every channel that enters Stasis, then
 * hang it up. `--client ours` uses src/ari (createAriClient), `--client ari-client` the npm
 * `ari-client` package (the reference). Same simulator, same load, same core; the two run
 * side by side (each its own Stasis app) and take turns at every offered rate.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Ari from 'ari-client';
import { pino } from 'pino';
import { createAriClient, type AriClient } from '../src/ari/index.js';
import { cpuMs, serveIpc } from './common.js';
import { createProcessProbe } from './process-probe.js';

const { values } = parseArgs({ options: { client: { type: 'string', default: 'ours' } } });
let ours: AriClient | undefined;
let theirs: Ari.Client | undefined;
const probe = createProcessProbe();

serveIpc({
  ready: () => true,
  async start(args: { ariUrl: string; app: string; ariConnections?: number }) {
    if (values.client === 'ari-client') {
      theirs = await Ari.connect(args.ariUrl, 'ari', 'ari');
      theirs.on('StasisStart', (_event, channel) => {
        const issued = performance.now();
        channel
          .answer()
          .then(() => {
            probe.restDone(performance.now() - issued);
            return channel.hangup();
          })
          .catch(() => {});
      });
      await theirs.start(args.app);
    } else {
      ours = createAriClient({
        url: args.ariUrl,
        username: 'ari',
        password: 'ari',
        app: args.app,
        logger: pino({ level: 'silent' }),
        ...(args.ariConnections ? { connections: args.ariConnections } : {}),
      });
      ours.events.on('StasisStart', (event) => {
        const channelId = (event as unknown as { channel: { id: string } }).channel.id;
        const issued = performance.now();
        ours!.channels
          .answer({ channelId })
          .then(() => {
            probe.restDone(performance.now() - issued);
            return ours!.channels.hangup({ channelId });
          })
          .catch(() => {});
      });
      await ours.connect();
    }
    return { client: values.client };
  },
  stats(args?: { reset?: boolean }) {
    return { rss: process.memoryUsage().rss, cpuMs: cpuMs(), process: probe.snapshot(args?.reset ?? false) };
  },
  async stop() {
    await ours?.close();
    theirs?.stop();
    return true;
  },
});
