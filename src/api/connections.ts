/**
 * At most N open connections per client address: one client cannot take every socket of the
 * process (slow requests, idle keep-alives). Trusted proxies (TRUST_PROXY) are exempt — every
 * client behind them shares their address; cap those at the proxy.
 */
import type { Server } from 'node:http';
import { BlockList, isIPv6 } from 'node:net';
import type { Logger } from 'pino';

function trustedList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const family = isIPv6(address!) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address!, family);
    else list.addSubnet(address!, Number(bits), family);
  }
  return list;
}

/** "::ffff:10.0.0.1" is the IPv4 client 10.0.0.1 on a dual-stack socket. */
function normalise(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function capConnectionsPerClient(
  server: Server,
  max: number,
  trustedProxies: readonly string[],
  logger?: Logger,
): void {
  const trusted = trustedList(trustedProxies);
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = normalise(socket.remoteAddress ?? '');
    if (!address || trusted.check(address, isIPv6(address) ? 'ipv6' : 'ipv4')) return;
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      logger?.warn({ client: address, max }, 'too many connections from one client; closing the new one');
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
