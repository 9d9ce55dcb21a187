/**
 * The emulator's two SMTP listeners on 127.0.0.1 (port 0): one behaving
 * like smtp.office365.com:587 (submission with OAuth), one like port 25 of
 * <domain>.mail.protection.outlook.com (Direct Send). STARTTLS uses the
 * emulator's certificate. TLS 1.0/1.1 handshakes are allowed only so the
 * legacy client can be told 421 4.7.66, as Exchange Online does.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { EmulatorContext } from './context.js';
import { SmtpSession, type SmtpPolicy } from './smtp-session.js';

export interface SmtpListener {
  server: Server;
  port: number;
  sockets: Set<Socket>;
}

export async function startSmtp(ctx: EmulatorContext, policy: SmtpPolicy): Promise<SmtpListener> {
  const secureContext = createSecureContext({ cert: ctx.certs.cert, key: ctx.certs.key, minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    new SmtpSession(socket, ctx, policy, secureContext);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : 0, sockets };
}
