import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relayTrickIn, matchesAddressPattern, isNotifiableSender } from '../../src/core/address.js';
import { parseCidr, ipInCidrs } from '../../src/core/net.js';
import { RouteTable } from '../../src/route/rules.js';

test('relay tricks are recognised; ordinary and UTF-8 addresses are not', () => {
  for (const a of ['user%other.example@relay.test', 'other.example!user@relay.test', '@relay.test:user@other.example', '"user@other.example"@relay.test', 'user@other.example@relay.test', 'nodomain']) {
    assert.ok(relayTrickIn(a), a);
  }
  for (const a of ['user@example.com', 'ilo.@example.com', 'tëst@exämple.example', 'a+b@sub.example.co.jp']) assert.equal(relayTrickIn(a), undefined, a);
});

test('address patterns', () => {
  assert.ok(matchesAddressPattern('Scan@Contoso.example', '*@contoso.example'));
  assert.ok(matchesAddressPattern('scan@x.contoso.example', '*@*.contoso.example'));
  assert.ok(!matchesAddressPattern('scan@contoso.example.evil', '*@contoso.example'));
  assert.ok(matchesAddressPattern('a@b.example', 'A@B.example'));
});

test('notices go only to real mailboxes', () => {
  assert.ok(isNotifiableSender('alice@contoso.com'));
  for (const a of ['', 'scanner@printer.local', 'noreply@contoso.com', 'MAILER-DAEMON@contoso.com', 'x@localhost']) assert.ok(!isNotifiableSender(a), a);
});

test('CIDR matching covers IPv4, IPv6 and IPv4-mapped addresses', () => {
  const nets = ['192.168.10.0/24', 'fd00::/64'].map((n) => parseCidr(n)!);
  assert.ok(ipInCidrs('192.168.10.50', nets));
  assert.ok(ipInCidrs('::ffff:192.168.10.50', nets));
  assert.ok(ipInCidrs('fd00::1', nets));
  assert.ok(!ipInCidrs('192.168.11.1', nets));
  assert.ok(!ipInCidrs('fd01::1', nets));
  assert.equal(parseCidr('300.1.1.1'), undefined);
});

test('routes: device, sender and recipient domain rules; a message is split per route', () => {
  const t = new RouteTable([
    { when: { recipientDomain: ['contoso.example'] }, use: ['internal'] },
    { when: { device: ['ups'] }, use: ['alerts'] },
    { when: { sender: ['*@finance.example'] }, use: ['finance'] },
    { when: {}, use: ['default', 'spare'] },
  ]);
  const g = t.resolve({ device: 'mfp', sender: 'a@b.example', recipients: ['x@contoso.example', 'y@other.example', 'z@contoso.example'] });
  assert.deepEqual(g.map((x) => [x.route, x.recipients]), [['internal', ['x@contoso.example', 'z@contoso.example']], ['default', ['y@other.example']]]);
  assert.equal(t.resolve({ device: 'ups', sender: 'a@b.example', recipients: ['y@other.example'] })[0]!.route, 'alerts');
  // A rule with a list: the first by default; the chooser may take a fallback per recipient.
  assert.deepEqual(g[1]!.chain, ['default', 'spare']);
  const fb = t.resolve({ device: 'mfp', sender: 'a@b.example', recipients: ['y@other.example', 'x@contoso.example'] }, (chain) => chain[chain.length - 1]!);
  assert.deepEqual(fb.map((x) => [x.route, x.recipients]), [['spare', ['y@other.example']], ['internal', ['x@contoso.example']]]);
  assert.equal(t.resolve({ device: 'mfp', sender: 'p@finance.example', recipients: ['y@other.example'] })[0]!.route, 'finance');
  assert.equal(t.resolve({ device: 'mfp', deviceRoute: 'special', sender: 'a@b.example', recipients: ['x@contoso.example'] })[0]!.route, 'special');
  assert.equal(new RouteTable([]).resolve({ device: null, sender: '', recipients: ['a@b.example'] })[0]!.route, 'capture');
});

import { classifySmtpReply, retryHintMs } from '../../src/deliver/smtp/classify.js';

test('SMTP replies: 5xx fail, 4xx retry, 421 pauses the destination, retry hints are read', () => {
  assert.equal(classifySmtpReply('550 5.1.1 User unknown', 'RCPT TO').action, 'fail');
  assert.equal(classifySmtpReply('550 5.1.1 User unknown', 'RCPT TO').category, 'bad-recipient');
  const d = classifySmtpReply('451 4.7.1 Greylisted, try again in 90 seconds', 'RCPT TO');
  assert.deepEqual([d.action, d.scope, d.retryAfterMs], ['retry', 'message', 90_000]);
  const u = classifySmtpReply('421 4.3.2 Service not available, retry after 5 minutes', 'MAIL FROM');
  assert.deepEqual([u.action, u.scope, u.retryAfterMs], ['retry', 'destination', 300_000]);
  assert.equal(retryHintMs('451 try later'), undefined);
});
