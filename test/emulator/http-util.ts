/**
 * HTTP plumbing shared by the emulator's Entra, Graph and upload handlers:
 * reading a request body up to a cap (the rest is counted and dropped, so
 * an oversized request still gets its answer), and the two error envelopes
 * (Entra's OAuth error with AADSTS code, trace and correlation ids; Graph's
 * {"error":{code,message,innerError}}).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

export interface Body {
  /** The body, or only its first `cap` bytes when it was longer. */
  data: Buffer;
  /** Total bytes received. */
  bytes: number;
  truncated: boolean;
}

export function readBody(req: IncomingMessage, cap: number): Promise<Body> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let bytes = 0;
    let kept = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (kept < cap) {
        const take = c.subarray(0, cap - kept);
        parts.push(take);
        kept += take.length;
      }
    });
    req.on('end', () => resolve({ data: Buffer.concat(parts), bytes, truncated: bytes > cap }));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store, no-cache',
    ...headers,
  });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-length': '0', ...headers });
  res.end();
}

/** Entra's timestamp format: "2016-01-09 02:02:12Z". */
export function entraTimestamp(d = new Date()): string {
  return d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

export interface EntraErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
}

/** The OAuth error envelope of reference-error-codes.md, origin = the sign-in host. */
export function entraError(origin: string, error: string, code: number, text: string, correlationId?: string): EntraErrorBody {
  const timestamp = entraTimestamp();
  const trace = randomUUID();
  const correlation = correlationId && /^[0-9a-f-]{36}$/i.test(correlationId) ? correlationId : randomUUID();
  return {
    error,
    error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${trace}\r\nCorrelation ID: ${correlation}\r\nTimestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: trace,
    correlation_id: correlation,
    error_uri: `${origin}/error?code=${code}`,
  };
}

export function sendEntraError(res: ServerResponse, status: number, body: EntraErrorBody): void {
  sendJson(res, status, body, { 'x-ms-request-id': body.trace_id });
}

/** Graph's error envelope; request-id is also sent as a header, as Graph does. */
export function sendGraphError(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const requestId = randomUUID();
  const clientRequestId = typeof req.headers['client-request-id'] === 'string' ? req.headers['client-request-id'] : requestId;
  const body = { error: { code, message, innerError: { date: new Date().toISOString().replace(/\.\d{3}Z$/, ''), 'request-id': requestId, 'client-request-id': clientRequestId } } };
  sendJson(res, status, body, { 'request-id': requestId, 'client-request-id': clientRequestId, ...headers });
}
