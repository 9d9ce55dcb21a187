/**
 * Runs the Microsoft 365 emulator on its own, for trying the relay by hand:
 * `node dist/test/emulator/main.js [--domain contoso.com] [--mailbox relay@contoso.com]
 * [--secret S] [--public-client] [--proxy-port N] [--keep-certificates DIR]`.
 * Sets up one tenant, one app with Mail.Send,
 * Mail.ReadWrite and SMTP.SendAsApp, and one mailbox, then prints the URLs,
 * the CA file and the demo credentials. Stops on Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { startEmulator } from './index.js';

const { values } = parseArgs({
  options: {
    domain: { type: 'string', default: 'contoso.com' },
    mailbox: { type: 'string' },
    secret: { type: 'string' },
    'public-client': { type: 'boolean', default: false },
    'proxy-port': { type: 'string' },
    'keep-certificates': { type: 'string' },
  },
});

const em = await startEmulator({
  ...(values['proxy-port'] ? { proxyPort: Number(values['proxy-port']) } : {}),
  ...(values['keep-certificates'] ? { keepCertificatesIn: values['keep-certificates'] } : {}),
});
const domain = values.domain!;
const tenant = em.addTenant({ domains: [`${domain.split('.')[0]}.onmicrosoft.com`, domain] });
const app = em.addApp(tenant.id, {
  ...(values.secret ? { secrets: [{ value: values.secret }] } : {}),
  graphRoles: ['Mail.Send', 'Mail.ReadWrite'],
  exchangeRoles: ['SMTP.SendAsApp'],
  publicClient: values['public-client'] === true,
});
const mailbox = em.addMailbox(tenant.id, { address: values.mailbox ?? `relay@${domain}` });

const lines = [
  'Microsoft 365 emulator running',
  `  authority (Entra)   ${em.authorityHost}/${tenant.id}`,
  `  OpenID metadata     ${em.authorityHost}/${tenant.id}/v2.0/.well-known/openid-configuration`,
  `  Graph               ${em.graphUrl}`,
  `  SMTP submission     ${em.smtpHost}:${em.smtpPort} (STARTTLS, XOAUTH2)`,
  `  Direct Send         ${em.smtpHost}:${em.directSendPort}`,
  `  CA file             ${em.caFile}`,
  `  forward proxy       ${em.proxyUrl} (to login.microsoftonline.com and graph.microsoft.com; trust the CA file)`,
  '',
  `  tenant id           ${tenant.id} (${tenant.domains.join(', ')})`,
  `  client id           ${app.clientId}`,
  `  client secret       ${app.secrets[0]?.value ?? '(none)'}`,
  `  mailbox             ${mailbox.address}`,
  '',
  'Ctrl-C stops it.',
];
process.stdout.write(`${lines.join('\n')}\n`);

const stop = () => {
  void em.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
