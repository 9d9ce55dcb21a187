/**
 * The smtp transport against real SMTP servers on loopback: the shared
 * transport contract, then what only SMTP has (STARTTLS and certificate
 * checks, AUTH, pooled connections).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smtpUpstreamSchema, type ConfigInput } from '../../src/config/schema.js';
import { SmtpTransport } from '../../src/deliver/smtp/smtp.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { run } from '../helpers/tools.js';
import { outbound, simpleBody, transportContract, type ReceivedByUpstream, type TransportFixture } from '../contract/transport-contract.js';

type SmtpInput = Omit<Extract<NonNullable<ConfigInput['upstreams']>[string], { type: 'smtp' }>, 'type' | 'host' | 'port'>;

function smtpTransport(port: number, extra: SmtpInput = {}): SmtpTransport {
  return new SmtpTransport('relay', smtpUpstreamSchema.parse({ type: 'smtp', host: '127.0.0.1', port, tls: 'none', connectTimeout: '5s', ...extra }));
}

const signal = () => new AbortController().signal;

/** The smtp transport wired to a recording smtp-server whose answers the contract steers. */
async function smtpFixture(): Promise<TransportFixture> {
  const refusals = new Map<string, 'permanent' | 'temporary'>();
  let messageRefusal: 'permanent' | 'temporary' | undefined;
  let delay = 0;
  const got: ReceivedByUpstream[] = [];
  let upstream: TestUpstream | undefined;
  let port = 0;
  const wire = (u: TestUpstream) => {
    u.dataDelayMs = delay;
    u.fault = (_n, stage, arg) => {
      if (stage === 'rcpt') {
        const how = refusals.get(arg.toLowerCase());
        if (how === 'permanent') return { code: 550, message: `5.1.1 <${arg}>: Recipient address rejected: User unknown` };
        if (how === 'temporary') return { code: 450, message: `4.2.1 <${arg}>: Recipient address rejected: Mailbox busy` };
        return undefined;
      }
      if (messageRefusal === 'permanent') return { code: 554, message: '5.6.0 Message content rejected' };
      if (messageRefusal === 'temporary') return { code: 451, message: '4.3.0 Temporary failure, try again later' };
      return undefined;
    };
    const received = u.received;
    received.push = (...items) => {
      for (const r of items) got.push({ sender: r.from, recipients: r.to, body: r.data });
      return Array.prototype.push.apply(received, items);
    };
  };
  upstream = await startUpstream();
  port = upstream.port;
  wire(upstream);
  const transport = smtpTransport(port, { concurrency: 2 });
  return {
    transport,
    upstream: {
      acceptAll: () => {
        refusals.clear();
        messageRefusal = undefined;
      },
      refuseRecipient: (address, how) => void refusals.set(address.toLowerCase(), how),
      refuseMessage: (how) => void (messageRefusal = how),
      down: async () => {
        await upstream?.kill();
        upstream = undefined;
      },
      up: async () => {
        upstream = await startUpstream({ port });
        wire(upstream);
      },
      slow: (ms) => {
        delay = ms;
        if (upstream) upstream.dataDelayMs = ms;
      },
      received: () => got,
    },
    close: async () => {
      await transport.close();
      await upstream?.kill();
    },
  };
}

transportContract('smtp', smtpFixture);

describe('smtp transport: TLS to the upstream', () => {
  let dir: string;
  let cert: string;
  let key: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'authrelay-tls-'));
    const r = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=upstream.test',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    assert.equal(r.code, 0, r.stderr);
    const { readFileSync } = await import('node:fs');
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    key = readFileSync(join(dir, 'key.pem'), 'utf8');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('STARTTLS to a self-signed upstream is refused by default: the certificate is checked', async () => {
    const up = await startUpstream({ key, cert });
    const t = smtpTransport(up.port, { tls: 'starttls' });
    try {
      const out = await t.deliver(outbound({ recipients: ['alice@contoso.com'] }), { signal: signal() });
      assert.equal(out[0]!.outcome.action, 'retry');
      assert.equal(out[0]!.outcome.scope, 'destination');
      assert.equal(out[0]!.outcome.category, 'tls');
      assert.match(out[0]!.outcome.hint ?? '', /certificate|ca/);
      assert.equal(up.received.length, 0, 'nothing was sent over an unverified connection');
    } finally {
      await t.close();
      await up.kill();
    }
  });

  test('STARTTLS with ca pointing at the upstream certificate: delivered over TLS', async () => {
    const up = await startUpstream({ key, cert });
    const t = smtpTransport(up.port, { tls: 'starttls', ca: join(dir, 'cert.pem') });
    try {
      const out = await t.deliver(outbound({ recipients: ['alice@contoso.com'] }), { signal: signal() });
      assert.equal(out[0]!.outcome.action, 'delivered', JSON.stringify(out));
      assert.equal(up.received.length, 1);
      assert.equal(up.received[0]!.session.secure, true, 'the message went over TLS');
    } finally {
      await t.close();
      await up.kill();
    }
  });

  test('implicit TLS with ca: delivered; without ca: refused', async () => {
    const up = await startUpstream({ key, cert, secure: true });
    const good = smtpTransport(up.port, { tls: 'implicit', ca: join(dir, 'cert.pem') });
    const bad = smtpTransport(up.port, { tls: 'implicit' });
    try {
      assert.equal((await good.deliver(outbound({ recipients: ['a@contoso.com'] }), { signal: signal() }))[0]!.outcome.action, 'delivered');
      const refused = await bad.deliver(outbound({ recipients: ['a@contoso.com'] }), { signal: signal() });
      assert.equal(refused[0]!.outcome.action, 'retry');
      assert.equal(refused[0]!.outcome.category, 'tls');
      assert.equal(up.received.length, 1);
    } finally {
      await good.close();
      await bad.close();
      await up.kill();
    }
  });

  test('tls: starttls never falls back to plain text when the upstream does not offer STARTTLS', async () => {
    const up = await startUpstream();
    const t = smtpTransport(up.port, { tls: 'starttls' });
    try {
      const out = await t.deliver(outbound({ recipients: ['alice@contoso.com'] }), { signal: signal() });
      assert.equal(out[0]!.outcome.action, 'retry');
      assert.equal(out[0]!.outcome.scope, 'destination');
      assert.equal(up.received.length, 0);
    } finally {
      await t.close();
      await up.kill();
    }
  });

  test('a client certificate is presented when configured', async () => {
    writeFileSync(join(dir, 'client.pem'), cert);
    const up = await startUpstream({ key, cert });
    const t = smtpTransport(up.port, { tls: 'starttls', ca: join(dir, 'cert.pem'), clientCert: { cert: join(dir, 'client.pem'), key: join(dir, 'key.pem') } });
    try {
      const out = await t.deliver(outbound({ recipients: ['alice@contoso.com'] }), { signal: signal() });
      assert.equal(out[0]!.outcome.action, 'delivered');
    } finally {
      await t.close();
      await up.kill();
    }
  });
});

describe('smtp transport: AUTH with upstream credentials', () => {
  for (const method of ['PLAIN', 'LOGIN'] as const) {
    test(`AUTH ${method}: delivered as the configured user`, async () => {
      const up = await startUpstream({ auth: { user: 'relay@contoso.com', pass: 'p@ss word' } });
      const t = smtpTransport(up.port, { auth: { user: 'relay@contoso.com', pass: 'p@ss word', method } });
      try {
        const out = await t.deliver(outbound({ recipients: ['alice@contoso.com'] }), { signal: signal() });
        assert.equal(out[0]!.outcome.action, 'delivered', JSON.stringify(out));
        assert.deepEqual(up.authMethods, [method]);
        assert.equal(up.received[0]!.session.user, 'relay@contoso.com');
      } finally {
        await t.close();
        await up.kill();
      }
    });
  }

  test('wrong credentials: retry with scope destination and category auth, nothing sent', async () => {
    const up = await startUpstream({ auth: { user: 'relay@contoso.com', pass: 'right' } });
    const t = smtpTransport(up.port, { auth: { user: 'relay@contoso.com', pass: 'wrong' } });
    try {
      const out = await t.deliver(outbound({ recipients: ['alice@contoso.com', 'bob@contoso.com'] }), { signal: signal() });
      assert.deepEqual(out.map((o) => [o.outcome.action, o.outcome.scope, o.outcome.category]), [
        ['retry', 'destination', 'auth'], ['retry', 'destination', 'auth'],
      ]);
      assert.equal(out[0]!.outcome.ref, 'generic.535.auth-failed');
      assert.match(out[0]!.outcome.fix ?? '', /Check upstreams\.relay\.auth/);
      assert.equal(up.received.length, 0);
    } finally {
      await t.close();
      await up.kill();
    }
  });
});

describe('smtp transport: connections', () => {
  test('several messages go over one pooled connection', async () => {
    const up = await startUpstream();
    const t = smtpTransport(up.port, { concurrency: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        const out = await t.deliver(outbound({ recipients: [`u${i}@contoso.com`], body: simpleBody(` ${i}`) }), { signal: signal() });
        assert.equal(out[0]!.outcome.action, 'delivered');
      }
      assert.equal(up.received.length, 5);
      assert.equal(up.connections, 1);
      assert.equal(new Set(up.received.map((r) => r.session.id)).size, 1);
    } finally {
      await t.close();
      await up.kill();
    }
  });

  test('concurrent messages use at most `concurrency` connections', async () => {
    const up = await startUpstream();
    up.dataDelayMs = 50;
    const t = smtpTransport(up.port, { concurrency: 2 });
    try {
      const outs = await Promise.all(Array.from({ length: 8 }, (_, i) => t.deliver(outbound({ recipients: [`u${i}@contoso.com`] }), { signal: signal() })));
      assert.ok(outs.every((o) => o[0]!.outcome.action === 'delivered'));
      assert.ok(up.connections <= 2, `${up.connections} connections`);
    } finally {
      await t.close();
      await up.kill();
    }
  });

  test('pool: false opens one connection per message', async () => {
    const up = await startUpstream();
    const t = smtpTransport(up.port, { concurrency: 1, pool: false });
    try {
      for (let i = 0; i < 3; i++) await t.deliver(outbound({ recipients: ['alice@contoso.com'] }), { signal: signal() });
      assert.equal(up.received.length, 3);
      assert.equal(up.connections, 3);
    } finally {
      await t.close();
      await up.kill();
    }
  });

  test('a dropped connection after the whole message: retry, flagged as a possible duplicate', async () => {
    const up = await startUpstream();
    up.dropAfterData = true;
    const t = smtpTransport(up.port);
    try {
      const out = await t.deliver(outbound({ recipients: ['alice@contoso.com'] }), { signal: signal() });
      assert.equal(out[0]!.outcome.action, 'retry');
      assert.equal(out[0]!.outcome.possibleDuplicate, true);
      up.dropAfterData = false;
      const again = await t.deliver(outbound({ recipients: ['alice@contoso.com'] }), { signal: signal() });
      assert.equal(again[0]!.outcome.action, 'delivered', 'the pool recovers from the dropped connection');
    } finally {
      await t.close();
      await up.kill();
    }
  });

  test('a refused internationalised recipient is reported as refused, not delivered', async () => {
    const up = await startUpstream();
    up.fault = (_n, stage, arg) => (stage === 'rcpt' && /xn--|ü/.test(arg) ? { code: 550, message: '5.1.1 User unknown' } : undefined);
    const t = smtpTransport(up.port);
    try {
      const recipients = ['alice@contoso.com', 'müller@bücher.de', 'info@bücher.de'];
      const out = await t.deliver(outbound({ recipients }), { signal: signal() });
      assert.deepEqual(out.map((o) => [o.recipient, o.outcome.action]), [[recipients[0], 'delivered'], [recipients[1], 'fail'], [recipients[2], 'fail']]);
    } finally {
      await t.close();
      await up.kill();
    }
  });
});
