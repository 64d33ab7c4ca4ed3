import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import {
  EgressRefused,
  createEgressPolicy,
  egressRefusalIn,
  parseEgressAllow,
  type Resolver,
} from './egress-policy.js';
import type { Listener } from './own-listeners.js';

function policy(options: { denyPrivate?: boolean; allow?: string; listeners?: Listener[]; resolver?: Resolver } = {}) {
  const { allow, problems } = parseEgressAllow(options.allow);
  assert.deepEqual(problems, []);
  return createEgressPolicy({
    rules: { denyPrivate: options.denyPrivate ?? false, allow },
    listeners: () => options.listeners ?? [],
    resolver: options.resolver,
  });
}

/** The refusal message for `host`, or 'allowed'; only literals and injected answers, so nothing is looked up or sent. */
async function verdict(p: ReturnType<typeof policy>, host: string, port = 443): Promise<string> {
  try {
    await p.resolve(host, port);
    return 'allowed';
  } catch (error) {
    assert.ok(error instanceof EgressRefused, String(error));
    return error.message;
  }
}

const METADATA_SPELLINGS = [
  '169.254.169.254',
  '2852039166',
  '0251.0376.0251.0376',
  '0xa9fea9fe',
  '0xa9.0xfe.0xa9.0xfe',
  '169.254.43518',
  '::ffff:169.254.169.254',
  '[::ffff:169.254.169.254]',
  '0:0:0:0:0:ffff:a9fe:a9fe',
  '::ffff:0:a9fe:a9fe',
  '64:ff9b::a9fe:a9fe',
  '2002:a9fe:a9fe::1',
  '::169.254.169.254',
];
const ALWAYS_DENIED = [
  ['169.254.170.2', /link-local address/],
  ['fe80::1', /link-local address/],
  ['fe80::1%eth0', /link-local address/],
  ['fd00:ec2::254', /cloud metadata address/],
  ['100.100.100.200', /cloud metadata address/],
  ['0.0.0.0', /unspecified address/],
  ['0', /unspecified address/],
  ['0.1.2.3', /unspecified address/],
  ['::', /unspecified address/],
  ['::ffff:0.0.0.0', /unspecified address/],
  ['224.0.0.1', /multicast address/],
  ['239.255.255.250', /multicast address/],
  ['ff02::1', /multicast address/],
  ['255.255.255.255', /broadcast address/],
] as const;
const PRIVATE = [
  '127.0.0.1',
  '127.1',
  '127.255.0.9',
  '::1',
  '[::1]',
  '::ffff:127.0.0.1',
  '0:0:0:0:0:ffff:7f00:1',
  '10.0.0.5',
  '012.0.0.5',
  '172.16.0.1',
  '172.31.255.254',
  '192.168.1.1',
  '100.64.0.1',
  '100.127.255.254',
  'fc00::1',
  'fd12:3456::1',
  '::ffff:10.0.0.5',
  '64:ff9b::a00:5',
  '2002:c0a8:101::1',
];
const PUBLIC = [
  '8.8.8.8',
  '1.1.1.1',
  '172.32.0.1',
  '100.128.0.1',
  '2001:4860:4860::8888',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
];

describe('the egress policy', () => {
  for (const denyPrivate of [false, true]) {
    const setting = denyPrivate ? 'with EGRESS_DENY_PRIVATE=true' : 'by default';

    it(`refuses the metadata address in every spelling ${setting}`, async () => {
      for (const host of METADATA_SPELLINGS) {
        assert.match(
          await verdict(policy({ denyPrivate }), host),
          /^refused by the egress policy: .*169\.254\.169\.254\)? is a link-local address, where cloud metadata services answer$/,
          host,
        );
      }
    });

    it(`refuses link-local, metadata, unspecified, multicast and broadcast ${setting}`, async () => {
      for (const [host, why] of ALWAYS_DENIED) assert.match(await verdict(policy({ denyPrivate }), host), why, host);
    });

    it(`allows public addresses ${setting}`, async () => {
      for (const host of PUBLIC) assert.equal(await verdict(policy({ denyPrivate }), host), 'allowed', host);
    });
  }

  it('allows loopback, RFC 1918, CGNAT and unique local addresses by default', async () => {
    for (const host of PRIVATE) assert.equal(await verdict(policy(), host), 'allowed', host);
  });

  it('refuses them in every spelling with EGRESS_DENY_PRIVATE=true, naming the setting', async () => {
    for (const host of PRIVATE)
      assert.match(
        await verdict(policy({ denyPrivate: true }), host),
        /is a private address \(EGRESS_DENY_PRIVATE=true\)$/,
        host,
      );
    assert.equal(
      await verdict(policy({ denyPrivate: true }), '10.0.0.5'),
      'refused by the egress policy: 10.0.0.5 is a private address (EGRESS_DENY_PRIVATE=true)',
    );
    assert.equal(
      await verdict(policy({ denyPrivate: true }), '012.0.0.5'),
      'refused by the egress policy: 012.0.0.5 (10.0.0.5) is a private address (EGRESS_DENY_PRIVATE=true)',
    );
  });

  it('makes exceptions for the ranges and host names in EGRESS_ALLOW', async () => {
    const resolver: Resolver = async (host) => [
      { address: host === 'db.internal' || host === 'other.internal' ? '10.1.2.3' : '127.0.0.1', family: 4 },
    ];
    const strict = policy({
      denyPrivate: true,
      allow: '127.0.0.1/32, 192.168.0.0/16, fd00::/8, db.internal',
      resolver,
    });
    for (const host of ['127.0.0.1', '::ffff:127.0.0.1', '192.168.7.7', 'fd12::1', 'db.internal', 'DB.Internal'])
      assert.equal(await verdict(strict, host), 'allowed', host);
    for (const host of ['127.0.0.2', '10.0.0.1', 'fc00::1', 'other.internal', '::1'])
      assert.match(await verdict(strict, host), /EGRESS_DENY_PRIVATE=true/, host);
  });

  it('opens a metadata or link-local address only to an allowed range inside it, never to a broader range or a host name', async () => {
    const resolver: Resolver = async () => [{ address: '169.254.169.254', family: 4 }];
    for (const allow of ['0.0.0.0/0', '169.0.0.0/8', '::/0', '::ffff:0:0/96', 'meta.internal']) {
      assert.match(await verdict(policy({ allow, resolver }), 'meta.internal'), /link-local address/, allow);
      assert.match(await verdict(policy({ allow }), 'fd00:ec2::254'), /cloud metadata address/, allow);
    }
    assert.equal(await verdict(policy({ allow: '169.254.170.2/32' }), '169.254.170.2'), 'allowed');
    assert.match(await verdict(policy({ allow: '169.254.170.2/32' }), '169.254.169.254'), /link-local address/);
    assert.equal(await verdict(policy({ allow: 'fd00:ec2::254' }), 'fd00:ec2::254'), 'allowed');
    assert.equal(await verdict(policy({ allow: '100.100.100.200/32' }), '100.100.100.200'), 'allowed');
    for (const host of ['0.0.0.0', '224.0.0.1', '255.255.255.255'])
      assert.match(await verdict(policy({ allow: `${host}/32` }), host), /unspecified|multicast|broadcast/, host);
  });

  it("refuses plugboard's own listening address and port, whatever EGRESS_ALLOW says", async () => {
    const own = policy({ allow: '127.0.0.0/8', listeners: [{ address: '127.0.0.1', port: 8080 }] });
    assert.equal(
      await verdict(own, '127.0.0.1', 8080),
      "refused by the egress policy: 127.0.0.1 port 8080 is plugboard's own listener",
    );
    assert.match(await verdict(own, '::ffff:127.0.0.1', 8080), /own listener/);
    assert.match(await verdict(own, '2130706433', 8080), /own listener/);
    assert.equal(await verdict(own, '127.0.0.1', 8081), 'allowed');
    assert.equal(await verdict(own, '127.0.0.2', 8080), 'allowed');
  });

  it('counts every local address as its own when plugboard listens on 0.0.0.0 or ::', async () => {
    const local = Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .map((item) => item.address);
    for (const bound of ['0.0.0.0', '::']) {
      const own = policy({ listeners: [{ address: bound, port: 8080 }] });
      for (const host of ['127.0.0.1', '127.0.0.2', '::1', ...local])
        assert.match(await verdict(own, host, 8080), /own listener|link-local/, `${bound} ${host}`);
      assert.equal(await verdict(own, '127.0.0.2', 8081), 'allowed');
      assert.equal(await verdict(own, '8.8.8.8', 8080), 'allowed');
    }
  });

  it('refuses a host when any one of its addresses is denied, and names the host and the address', async () => {
    const resolver: Resolver = async () => [
      { address: '8.8.8.8', family: 4 },
      { address: '::ffff:a9fe:a9fe', family: 6 },
    ];
    assert.equal(
      await verdict(policy({ resolver }), 'mixed.example'),
      'refused by the egress policy: mixed.example (169.254.169.254) is a link-local address, where cloud metadata services answer',
    );
  });

  it('looks a name up once and answers the checked addresses, IPv4-mapped ones as IPv4', async () => {
    const asked: string[] = [];
    const answers = [
      [
        { address: '::ffff:127.0.0.1', family: 6 as const },
        { address: '::1', family: 6 as const },
      ],
      [{ address: '169.254.169.254', family: 4 as const }],
    ];
    const p = policy({ resolver: async (host) => (asked.push(host), answers[asked.length - 1]!) });
    assert.deepEqual(await p.resolve('rebind.example', 80), [
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    assert.deepEqual(asked, ['rebind.example']);
    await assert.rejects(p.resolve('rebind.example', 80), EgressRefused);
  });

  it('takes an address literal as it is, without asking the resolver', async () => {
    const p = policy({ resolver: async () => assert.fail('looked up') });
    assert.deepEqual(await p.resolve('0x7f000001', 80), [{ address: '127.0.0.1', family: 4 }]);
    assert.deepEqual(await p.resolve('[::1]', 80), [{ address: '::1', family: 6 }]);
  });

  it('passes a failed lookup on with its code, and counts no answer as not found', async () => {
    const failing = policy({
      resolver: async () => Promise.reject(Object.assign(new Error('getaddrinfo EAI_AGAIN x'), { code: 'EAI_AGAIN' })),
    });
    await assert.rejects(failing.resolve('x', 80), { code: 'EAI_AGAIN' });
    await assert.rejects(policy({ resolver: async () => [] }).resolve('x', 80), { code: 'ENOTFOUND' });
  });

  it('finds its refusal inside the errors fetch wraps it in', () => {
    const refusal = new EgressRefused('x');
    assert.equal(egressRefusalIn(new TypeError('fetch failed', { cause: refusal })), refusal);
    assert.equal(egressRefusalIn(new Error('other')), undefined);
  });

  it('reads EGRESS_ALLOW and names each entry it cannot use', () => {
    const { allow, problems } = parseEgressAllow(' 10.0.0.0/8 ,127.0.0.1, ::1 , db.internal., Cache-1.example.com,,');
    assert.deepEqual(
      [allow.cidrs.map(([a, bits]) => `${a.toString()}/${bits}`), [...allow.hosts]],
      [
        ['10.0.0.0/8', '127.0.0.1/32', '::1/128'],
        ['db.internal', 'cache-1.example.com'],
      ],
    );
    assert.deepEqual(problems, []);
    assert.equal(parseEgressAllow('10.0.0.0/33, http://x, a b').problems.length, 3);
    assert.deepEqual(parseEgressAllow(undefined), { allow: { cidrs: [], hosts: new Set() }, problems: [] });
  });
});
