/**
 * The smallest useful ARI application, twice: answer every channel that enters Stasis, then
 * hang it up. `--client ours` uses src/ari (createAriClient), `--client ari-client` the npm
 * `ari-client` package (the reference). Same simulator, same load, same core.
 */
import { parseArgs } from 'node:util';
import Ari from 'ari-client';
import { pino } from 'pino';
import { createAriClient, type AriClient } from '../src/ari/index.js';
import { cpuMs, serveIpc } from './common.js';
import { createProcessProbe } from './process-probe.js';

const { values } = parseArgs({ options: { client: { type: 'string', default: 'ours' } } });
const APP = 'answer';
let ours: AriClient | undefined;
let theirs: Ari.Client | undefined;
const probe = createProcessProbe();

serveIpc({
  ready: () => true,
  async start(args: { ariUrl: string }) {
    if (values.client === 'ari-client') {
      theirs = await Ari.connect(args.ariUrl, 'ari', 'ari');
      theirs.on('StasisStart', (_event, channel) => {
        channel
          .answer()
          .then(() => channel.hangup())
          .catch(() => {});
      });
      await theirs.start(APP);
    } else {
      ours = createAriClient({
        url: args.ariUrl,
        username: 'ari',
        password: 'ari',
        app: APP,
        logger: pino({ level: 'silent' }),
      });
      ours.events.on('StasisStart', (event) => {
        const channelId = (event as unknown as { channel: { id: string } }).channel.id;
        ours!.channels
          .answer({ channelId })
          .then(() => ours!.channels.hangup({ channelId }))
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
