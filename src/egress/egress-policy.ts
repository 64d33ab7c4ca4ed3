import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { isLocalAddress, type Listener } from './own-listeners.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = readonly [Address, number];

/** One address a host resolved to, as `net.connect` takes it. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** The exceptions of EGRESS_ALLOW: address ranges, and host names matched exactly (case-insensitive). */
export interface EgressAllow {
  readonly cidrs: readonly Cidr[];
  readonly hosts: ReadonlySet<string>;
}

/** What the operator decided: EGRESS_DENY_PRIVATE and EGRESS_ALLOW. */
export interface EgressRules {
  readonly denyPrivate: boolean;
  readonly allow: EgressAllow;
}

/** Looks a host name up; every answer, in the resolver's order. */
export type Resolver = (host: string) => Promise<readonly ResolvedAddress[]>;

/** Resolves a host once and checks every address it resolved to, before anything connects. */
export interface EgressPolicy {
  /**
   * The addresses to connect to, every one checked; rejects with `EgressRefused` when any is denied, or with
   * the resolver's error (ENOTFOUND, …). Connect to these, never to `host` again: a second lookup is what DNS
   * rebinding would answer differently.
   */
  resolve(host: string, port: number): Promise<readonly ResolvedAddress[]>;
}

/** A connection the egress policy refused; its message names the policy and never says whether a port is open. */
export class EgressRefused extends Error {
  constructor(reason: string) {
    super(`refused by the egress policy: ${reason}`);
    this.name = 'EgressRefused';
  }
}

/** The refusal anywhere in an error's cause chain (fetch wraps it in "fetch failed"), or undefined. */
export function egressRefusalIn(error: unknown, depth = 0): EgressRefused | undefined {
  if (error instanceof EgressRefused) return error;
  if (depth > 4 || typeof error !== 'object' || error === null) return undefined;
  return egressRefusalIn((error as { cause?: unknown }).cause, depth + 1);
}

/**
 * Ranges no user may aim at. `overridable` ones open only to an EGRESS_ALLOW range that lies inside them
 * (`169.254.170.2/32` opens one metadata endpoint on purpose; `0.0.0.0/0` opens none). The others never open:
 * the unspecified address reaches this host itself, and multicast or broadcast is no peer to talk to.
 */
const ALWAYS_DENIED: readonly { readonly cidr: Cidr; readonly why: string; readonly overridable: boolean }[] = [
  ['0.0.0.0/8', 'an unspecified address', false],
  ['::/128', 'an unspecified address', false],
  ['255.255.255.255/32', 'the broadcast address', false],
  ['224.0.0.0/4', 'a multicast address', false],
  ['ff00::/8', 'a multicast address', false],
  ['169.254.0.0/16', 'a link-local address, where cloud metadata services answer', true],
  ['fe80::/10', 'a link-local address, where cloud metadata services answer', true],
  // AWS's IPv6 instance metadata, and Alibaba Cloud's, which sits inside the CGNAT range.
  ['fd00:ec2::254/128', 'a cloud metadata address', true],
  ['100.100.100.200/32', 'a cloud metadata address', true],
].map(([cidr, why, overridable]) => ({
  cidr: ipaddr.parseCIDR(cidr as string),
  why: why as string,
  overridable: overridable as boolean,
}));

/** Loopback, RFC 1918, CGNAT (RFC 6598) and unique local (RFC 4193): denied only with EGRESS_DENY_PRIVATE=true. */
const PRIVATE: readonly Cidr[] = [
  '127.0.0.0/8',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '::1/128',
  'fc00::/7',
].map((c) => ipaddr.parseCIDR(c));

const inRange = (address: Address, [base, bits]: Cidr) => address.kind() === base.kind() && address.match(base, bits);
/** Whether range `inner` lies wholly inside `outer`. */
const within = (inner: Cidr, outer: Cidr) => inner[1] >= outer[1] && inRange(inner[0], outer);

/**
 * The IPv4 address an IPv6 address spells, for the verdict: IPv4-mapped (`::ffff:a9fe:a9fe`), SIIT
 * (RFC 6145), NAT64 (RFC 6052, `64:ff9b::/96`), 6to4 (`2002:AABB:CCDD::/48`) and the deprecated
 * IPv4-compatible `::a.b.c.d` all reach, or are translated to, that IPv4 address.
 */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const bytes = address.toByteArray();
  const range = address.range();
  if (range === 'ipv4Mapped' || range === 'rfc6145' || range === 'rfc6052') return new ipaddr.IPv4(bytes.slice(12));
  if (range === '6to4') return new ipaddr.IPv4(bytes.slice(2, 6));
  if (bytes.slice(0, 12).every((b) => b === 0) && range !== 'unspecified' && range !== 'loopback')
    return new ipaddr.IPv4(bytes.slice(12));
  return undefined;
}

/** An address literal in any spelling the URL parser or inet_aton takes (`2852039166`, `0xa9fea9fe`, `[::1]`), or undefined. */
export function parseAddress(text: string): Address | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  return ipaddr.isValid(bare) ? ipaddr.parse(bare) : undefined;
}

/**
 * Why the policy refuses `address:port` reached through `host`, or undefined when it allows it. Pure apart
 * from `listeners`; the table above and PRIVATE say what each range means.
 */
function refusalOf(
  host: string,
  resolved: string,
  port: number,
  rules: EgressRules,
  listeners: readonly Listener[],
): string | undefined {
  const parsed = parseAddress(resolved);
  if (parsed === undefined) return `${host} resolved to ${resolved}, which is not an IP address`;
  const address = (parsed.kind() === 'ipv6' && embeddedIPv4(parsed as ipaddr.IPv6)) || parsed;
  const shown = address.toString();
  const subject = host === shown ? shown : `${host} (${shown})`;
  if (listeners.some((l) => l.port === port && isListenerAddress(l.address, address)))
    return `${subject} port ${port} is plugboard's own listener`;
  const allowedBy = (range: Cidr | undefined) =>
    rules.allow.cidrs.some((allow) => inRange(address, allow) && (range === undefined || within(allow, range)));
  for (const denied of ALWAYS_DENIED) {
    if (inRange(address, denied.cidr) && !(denied.overridable && allowedBy(denied.cidr)))
      return `${subject} is ${denied.why}`;
  }
  if (
    rules.denyPrivate &&
    PRIVATE.some((range) => inRange(address, range)) &&
    !allowedBy(undefined) &&
    !rules.allow.hosts.has(host.toLowerCase())
  ) {
    return `${subject} is a private address (EGRESS_DENY_PRIVATE=true)`;
  }
  return undefined;
}

/** Whether a listener bound to `bound` (`0.0.0.0` and `::` meaning every local address) takes connections to `address`. */
function isListenerAddress(bound: string, address: Address): boolean {
  const parsed = parseAddress(bound);
  // A host name as HOST: count every local address, the safe side.
  if (parsed === undefined || parsed.range() === 'unspecified') return isLocalAddress(address);
  const normal = (parsed.kind() === 'ipv6' && embeddedIPv4(parsed as ipaddr.IPv6)) || parsed;
  return normal.kind() === address.kind() && normal.toString() === address.toString();
}

/** dns.lookup with every answer, in the resolver's order; an address literal is taken as it is, without a lookup. */
const systemResolver: Resolver = async (host) => {
  const literal = parseAddress(host);
  if (literal !== undefined) return [addressOf(literal)];
  const answers = await lookup(host, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** How a socket is pointed at an address: an IPv4-mapped one as the IPv4 address it is. */
function addressOf(address: Address): ResolvedAddress {
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress())
    return { address: (address as ipaddr.IPv6).toIPv4Address().toString(), family: 4 };
  return { address: address.toString(), family: address.kind() === 'ipv4' ? 4 : 6 };
}

/**
 * The one egress policy for every outbound connection a user can aim: connection tests, the gateway's
 * upstream calls, MCP upstreams. `listeners` names plugboard's own sockets at the moment of the check.
 */
export function createEgressPolicy(deps: {
  rules: EgressRules;
  listeners?: () => readonly Listener[];
  resolver?: Resolver;
}): EgressPolicy {
  const { rules, listeners = () => [], resolver = systemResolver } = deps;
  return {
    async resolve(host, port) {
      const name = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
      const literal = parseAddress(name);
      const answers = literal === undefined ? await resolver(name) : [addressOf(literal)];
      if (answers.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      const own = listeners();
      const checked = answers.map((answer) => {
        const refusal = refusalOf(name, answer.address, port, rules, own);
        if (refusal !== undefined) throw new EgressRefused(refusal);
        return addressOf(parseAddress(answer.address)!);
      });
      return checked;
    },
  };
}

/** EGRESS_ALLOW as the policy takes it, with a problem for each entry that is neither a range, an address nor a host name. */
export function parseEgressAllow(text: string | undefined): {
  readonly allow: EgressAllow;
  readonly problems: readonly string[];
} {
  const cidrs: Cidr[] = [];
  const hosts = new Set<string>();
  const problems: string[] = [];
  for (const entry of (text ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    const address = parseAddress(entry);
    if (ipaddr.isValidCIDR(entry)) cidrs.push(ipaddr.parseCIDR(entry));
    else if (address !== undefined) cidrs.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    else if (/^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/i.test(entry))
      hosts.add(entry.toLowerCase().replace(/\.$/, ''));
    else
      problems.push(
        `EGRESS_ALLOW: "${entry}" is neither an address range (10.0.0.0/8, fd00::/8), an address nor a host name.`,
      );
  }
  return { allow: Object.freeze({ cidrs, hosts }), problems };
}
