/**
 * Standalone ARI simulator:
 *   npm run ari-sim -- --port 8088 --dialplan FILE [--host 127.0.0.1] [--username ari --password ari] [--time-scale 1]
 *     [--session-limit 100] [--sounds-dir DIR] [--recordings-dir DIR]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startAriSimulator } from './index.js';

function parse() {
  try {
    return parseArgs({ options: OPTIONS });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
}
const OPTIONS = {
  port: { type: 'string', default: '8088' },
  host: { type: 'string', default: '127.0.0.1' },
  dialplan: { type: 'string' },
  username: { type: 'string', default: 'ari' },
  password: { type: 'string', default: 'ari' },
  'time-scale': { type: 'string', default: '1' },
  'sounds-dir': { type: 'string' },
  'recordings-dir': { type: 'string' },
  'session-limit': { type: 'string' },
} as const;
const { values } = parse();

const port = Number(values.port);
const timeScale = Number(values['time-scale']);
const problems: string[] = [];
if (!Number.isInteger(port) || port < 0 || port > 65535)
  problems.push(`--port: expected 0..65535, got '${values.port}'`);
if (!(timeScale > 0))
  problems.push(`--time-scale: expected a positive number, got '${values['time-scale']}'`);
const sessionLimit = values['session-limit'] === undefined ? undefined : Number(values['session-limit']);
if (sessionLimit !== undefined && !(Number.isInteger(sessionLimit) && sessionLimit > 0)) {
  problems.push(`--session-limit: expected a positive integer, got '${values['session-limit']}'`);
}
let dialplan = '';
if (values.dialplan) {
  try {
    dialplan = readFileSync(values.dialplan, 'utf8');
  } catch (err) {
    problems.push(`--dialplan: cannot read '${values.dialplan}': ${(err as Error).message}`);
  }
}
if (problems.length) {
  for (const p of problems) process.stderr.write(p + '\n');
  process.exit(2);
}

const sim = await startAriSimulator({
  port,
  host: values.host,
  username: values.username,
  password: values.password,
  dialplan,
  timeScale,
  soundsDir: values['sounds-dir'],
  recordingsDir: values['recordings-dir'],
  sessionLimit,
});
// Never print the password: the URL and user are enough to connect.
process.stdout.write(`ari-sim listening on ${sim.url}/ari (user ${values.username})\n`);
const stop = () => {
  void sim.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
