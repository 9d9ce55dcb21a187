/**
 * The doctor's listener check on proxyProtocol listeners of a running relay:
 * it sends `PROXY UNKNOWN` before anything else (before TLS on an implicit
 * listener), so a relay that trusts this host greets it; a relay that does not
 * closes the connection, which is reported as expected, not as a foreign
 * program on the port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { startTestRelay } from '../helpers/relay.js';
import { sharedCertificate } from '../helpers/cert.js';
import { validateConfig } from '../../src/config/load.js';
import { checkListeners } from '../../src/doctor/listeners.js';
import { Report } from '../../src/doctor/report.js';

test('doctor: a proxyProtocol listener is greeted when this host is a trusted proxy, and told apart when it is not', async () => {
  const tls = await sharedCertificate();
  const relay = await startTestRelay({
    tls,
    listeners: [
      { name: 'trusting', host: '127.0.0.1', port: 0, tls: 'implicit', proxyProtocol: true, trustedProxies: ['127.0.0.1'] },
      { name: 'trusting-plain', host: '127.0.0.1', port: 0, tls: 'none', proxyProtocol: true, trustedProxies: ['127.0.0.1'] },
      { name: 'strict', host: '127.0.0.1', port: 0, tls: 'starttls', proxyProtocol: true, trustedProxies: ['10.9.9.9'] },
    ],
  });
  try {
    const config = validateConfig({
      tls,
      listeners: relay.listeners.map((l) => ({
        name: l.name, host: '127.0.0.1', port: l.port, tls: l.tls, proxyProtocol: true, trustedProxies: [l.name === 'strict' ? '10.9.9.9' : '127.0.0.1'],
      })),
    }, { env: {} }, tmpdir());
    const report = new Report();
    await checkListeners(config, report.section({ en: 'Listeners', ja: 'リスナー' }), Date.now());
    const checks = report.checks;
    const find = (id: string) => checks.find((c) => c.id === id) ?? assert.fail(`no check ${id}: ${JSON.stringify(checks)}`);
    for (const name of ['trusting', 'trusting-plain']) {
      const c = find(`listener.${name}.bind`);
      assert.equal(c.status, 'pass', JSON.stringify(c));
      assert.match(c.title.en, /a relay is listening/);
    }
    const strict = find('listener.strict.bind');
    assert.equal(strict.status, 'info', JSON.stringify(strict));
    assert.match(strict.detail.en, /not in trustedProxies/);
  } finally {
    await relay.close();
  }
});
