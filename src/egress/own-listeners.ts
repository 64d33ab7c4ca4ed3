import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';

/** A socket plugboard listens on; `0.0.0.0` or `::` means every local address at that port. */
export interface Listener {
  readonly address: string;
  readonly port: number;
}

/** Whether a connection to `address` stays on this host: loopback, unspecified, or an address of one of its interfaces. */
export function isLocalAddress(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  const range = address.range();
  if (range === 'loopback' || range === 'unspecified') return true;
  const text = address.toString();
  for (const list of Object.values(networkInterfaces())) {
    for (const item of list ?? []) {
      // Interface addresses come in node's spelling; compare in ipaddr's (IPv6 zero runs, zone ids).
      const own = item.address.split('%')[0]!;
      if (ipaddr.isValid(own) && ipaddr.parse(own).toString() === text) return true;
    }
  }
  return false;
}

/**
 * plugboard's own listeners: the configured HOST and PORT (what it will listen on, or listens on in another
 * process of this node) and whatever its server is bound to now (PORT=0 picks the port only at listen).
 */
export function ownListeners(configured: Listener, bound: readonly (AddressInfo | string)[]): readonly Listener[] {
  // A string is a Unix socket's path: nothing a TCP connection reaches.
  const listeners: Listener[] = bound.flatMap((info) =>
    typeof info === 'string' ? [] : [{ address: info.address, port: info.port }],
  );
  if (configured.port !== 0) listeners.push(configured);
  return listeners;
}
