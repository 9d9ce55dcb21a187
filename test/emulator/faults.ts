/**
 * How the emulator's HTTP services act out a fault rule before (or after)
 * handling a request: an error status with the service's own body (Graph's
 * 503 ResourceUnhealthy, 504 GatewayTimeout...; Entra's AADSTS90033
 * temporarily_unavailable), a 429 storm with Retry-After, a connection
 * reset, a delay, or accept-then-fail (the request takes effect, the answer
 * is an error or never comes: an uncertain outcome for the client).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultKind } from './api.js';
import { entraError, sendEntraError, sendGraphError } from './http-util.js';

const GRAPH_CODES: Record<number, [string, string]> = {
  429: ['ApplicationThrottled', 'Application is over its MailboxConcurrency limit.'],
  500: ['InternalServerError', 'An internal server error occurred.'],
  502: ['BadGateway', 'Bad Gateway'],
  503: ['ResourceUnhealthy', 'MdbReplicationProtectionUtilizationMonitor is unhealthy.'],
  504: ['GatewayTimeout', 'Gateway Timeout'],
};

/** Answers `status` the way Graph (or Outlook's upload endpoint) would. */
export function graphFaultAnswer(req: IncomingMessage, res: ServerResponse, status: number, retryAfterSeconds?: number): void {
  const [code, message] = GRAPH_CODES[status] ?? ['UnknownError', `The service answered ${status}.`];
  sendGraphError(req, res, status, code, message, retryAfterSeconds !== undefined ? { 'retry-after': String(retryAfterSeconds) } : {});
}

export function entraFaultAnswer(origin: string, res: ServerResponse, status: number, retryAfterSeconds?: number): void {
  const body = entraError(origin, 'temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.');
  if (retryAfterSeconds !== undefined) res.setHeader('retry-after', String(retryAfterSeconds));
  sendEntraError(res, status, body);
}

/**
 * Acts out the part of a fault that happens before the request is handled.
 * Returns true when the request is finished (answered or reset).
 */
export function faultBefore(fault: FaultKind | undefined, res: ServerResponse, answer: (status: number, retryAfterSeconds?: number) => void): boolean {
  if (!fault) return false;
  if ('reset' in fault) {
    res.socket?.destroy();
    return true;
  }
  if ('throttle' in fault) {
    answer(429, fault.retryAfterSeconds);
    return true;
  }
  if ('status' in fault) {
    answer(fault.status, fault.retryAfterSeconds);
    return true;
  }
  return false;
}

/** Wraps the normal answer with the after-acting part of a fault (delay, accept-then-status, accept-then-reset). */
export function faultAfter(fault: FaultKind | undefined, send: () => void, answer: (status: number) => void, reset: () => void): void {
  if (fault && 'acceptThenStatus' in fault) answer(fault.acceptThenStatus);
  else if (fault && 'acceptThenReset' in fault) reset();
  else if (fault && 'delayMs' in fault) setTimeout(send, fault.delayMs);
  else send();
}
