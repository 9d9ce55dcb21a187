/**
 * The transport contract's upstream hooks for an SMTP transport (smtp-oauth,
 * direct-send) in front of the Microsoft 365 emulator's SMTP service, reached
 * through a TCP proxy that can go down and come back. The emulator's faults
 * steer the answers; only the replies to a refused recipient differ between
 * the services, so the caller gives them.
 */
import type { Emulator } from '../emulator/api.js';
import type { UpstreamHooks } from '../contract/transport-contract.js';
import type { TcpProxy } from './tcp-proxy.js';

export interface EmulatorSmtpHooksOptions {
  /** Which of the emulator's SMTP services the transport talks to (as recorded in emu.sent()). */
  via: 'smtp' | 'direct-send';
  /** Messages recorded before the fixture started (emu.sent().length). */
  since: number;
  /** The reply Exchange gives to the RCPT of a refused recipient. */
  rcptReply: (address: string, how: 'permanent' | 'temporary') => string;
}

export function emulatorSmtpHooks(emu: Emulator, proxy: TcpProxy, o: EmulatorSmtpHooksOptions): UpstreamHooks {
  return {
    acceptAll: () => emu.clearFaults(),
    refuseRecipient: (address, how) =>
      emu.fault({ target: 'smtp', recipient: address, fault: { smtpReply: o.rcptReply(address, how), at: 'rcpt' } } as Parameters<Emulator['fault']>[0]),
    refuseMessage: (how) =>
      emu.fault({ target: 'smtp', fault: { smtpReply: how === 'permanent' ? '554 5.6.0 Invalid message content' : '451 4.3.0 Temporary server error. Please try again later', at: 'data' } }),
    down: () => proxy.down(),
    up: () => proxy.up(),
    slow: (ms) => (ms > 0 ? emu.fault({ target: 'smtp', fault: { delayMs: ms } }) : emu.clearFaults()),
    received: () =>
      emu.sent().slice(o.since).filter((m) => m.via === o.via).map((m) => ({ sender: m.envelope?.from ?? '', recipients: m.envelope?.to ?? [], body: m.mime })),
  };
}
