/**
 * Graph answers and HTTP failures as DeliveryOutcomes. Known Graph errors are
 * explained by the Microsoft error catalogue (hint, fix, ref); the rest get a
 * generic outcome that keeps Graph's status, code and message. Throttling and
 * outages honour Retry-After. An answer that never came after a send request
 * had gone out in full (timeout, reset, 504, or the attempt stopped after the
 * request went out) is an uncertain outcome: retried, and marked as a
 * possible duplicate. Every outcome is classified by the step that failed.
 */
import type { Readable } from 'node:stream';
import { HttpError, retryAfterMs, type HttpResponse } from '../../core/http.js';
import type { DeliveryOutcome } from '../../core/outcome.js';
import { explainGraph, outcomeFrom, type GraphOperation, type PlaceholderValues } from '../microsoft/catalogue.js';

/**
 * Which call answered: a send (sendMail, draft send) may have delivered even without an answer.
 * 'find-drafts' and 'delete-draft' are the clean-up's calls (graph-cleanup.ts): they never decide an outcome.
 */
export type GraphStep = GraphOperation | 'attachment' | 'upload' | 'find-drafts' | 'delete-draft';

/** A request of `step` that got no answer (reset, timeout, abort): the HTTP error, and which step it was. */
export class GraphNoAnswer extends Error {
  constructor(readonly step: GraphStep, readonly error: HttpError) {
    super(`${step}: ${error.message}`);
    this.name = 'GraphNoAnswer';
  }
}

export interface GraphErrorBody {
  code?: string;
  message?: string;
}

export function graphError(res: HttpResponse): GraphErrorBody {
  const body = res.json<{ error?: { code?: unknown; message?: unknown } }>();
  const e = body?.error;
  return {
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    ...(typeof e?.message === 'string' ? { message: e.message } : {}),
  };
}

export function isSend(step: GraphStep): boolean {
  return step === 'sendMail' || step === 'send-draft';
}

/**
 * Whether a send may have happened although it did not answer 202: its whole
 * request went out and no answer came (reset, timeout, abort), or Graph
 * answered 504 (its gateway gave up while the mailbox may still have acted).
 */
export function sendMayHaveHappened(step: GraphStep, failure: HttpResponse | HttpError): boolean {
  if (!isSend(step)) return false;
  return failure instanceof HttpError ? failure.bodySent : failure.status === 504;
}

function catalogueOperation(step: GraphStep): GraphOperation {
  return step === 'sendMail' || step === 'send-draft' ? step : 'draft';
}

/** The outcome of a non-success Graph answer. */
export function outcomeForResponse(res: HttpResponse, step: GraphStep, names: PlaceholderValues): DeliveryOutcome {
  const { code, message } = graphError(res);
  const response = `${res.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
  const wait = retryAfterMs(res.headers);
  const reply = { code: res.status, response, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  const uncertain = sendMayHaveHappened(step, res);
  const explained = explainGraph(res.status, code, message, { ...names, operation: catalogueOperation(step) });
  if (explained) {
    const out = outcomeFrom(explained, reply);
    // No answer to a send: Graph itself is in trouble (pause the route), and the message may have gone out.
    return uncertain ? { ...out, action: 'retry', scope: 'destination', possibleDuplicate: true } : out;
  }
  if (res.status === 429) {
    return { action: 'retry', scope: 'message', category: 'throttled', ...reply,
      hint: 'Microsoft 365 is throttling this app and mailbox; the message is retried after the wait Graph asked for.' };
  }
  if (res.status >= 500 || res.status === 408) {
    const outage = res.status === 503 || res.status === 504;
    return { action: 'retry', scope: outage ? 'destination' : 'message', category: outage ? 'unavailable' : 'server-error', ...reply,
      ...(uncertain ? { possibleDuplicate: true } : {}),
      hint: uncertain
        ? 'Graph timed out after the message was handed over; it may have been sent. It is retried, and may arrive twice.'
        : `Graph answered ${res.status} (a problem at Microsoft); the message is retried later.` };
  }
  return { action: 'fail', scope: 'message', category: 'rejected', ...reply,
    hint: `Graph refused the request (${response}). This answer is not in the relay's catalogue; the full answer is kept here.`,
    fix: 'Look up the Graph error code in Microsoft\'s documentation; "authrelay send-test --route <upstream>" shows each request and answer.' };
}

/** The outcome of a request of `step` that got no answer. */
export function outcomeForHttpError(err: HttpError, step: GraphStep): DeliveryOutcome {
  const response = `${err.code}: ${err.message}`;
  if (err.code === 'ABORTED') {
    if (!sendMayHaveHappened(step, err)) return interrupted();
    // Stopped after the send went out: the relay is stopping (or the attempt ran out of time), not Graph; the route is not paused.
    return { action: 'retry', scope: 'message', category: 'uncertain', possibleDuplicate: true, response,
      hint: 'The attempt was stopped after the message had been handed to Graph, before its answer came; it may have been sent. It is retried, and may arrive twice.' };
  }
  if (sendMayHaveHappened(step, err)) {
    // The connection broke after the whole request went out: the route is paused like any
    // connection failure, and the message, which may have been sent, is marked as a possible duplicate.
    return { action: 'retry', scope: 'destination', category: 'uncertain', possibleDuplicate: true, response,
      hint: 'The message was handed to Graph but no answer came back; it may have been sent. It is retried, and may arrive twice.' };
  }
  const tls = /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|EPROTO/.test(err.code);
  return { action: 'retry', scope: 'destination', category: tls ? 'tls' : 'connection', response,
    hint: tls
      ? 'The Graph endpoint\'s certificate is not trusted; nothing was sent. Check the route\'s ca file or the proxy that intercepts TLS.'
      : `Graph could not be reached (${err.code}); nothing was sent. Messages wait until it answers again.`,
    ...(tls ? { fix: 'Set upstreams.<name>.ca to the PEM of the CA that signs the Graph endpoint (or the inspecting proxy).' } : {}) };
}

export function interrupted(): DeliveryOutcome {
  return { action: 'retry', scope: 'message', category: 'interrupted', hint: 'The delivery was interrupted (the relay is stopping or the attempt took too long); it is tried again.' };
}

/** How the draft path and its clean-up reach Graph (graph.ts makes one per attempt). */
export interface GraphCaller {
  /**
   * One Graph request; resolves with any answer, throws GraphNoAnswer (with the step) when none came.
   * A stream body is destroyed once the request is over. `signal` replaces the attempt's (clean-up requests have their own).
   */
  call(step: GraphStep, req: { method: string; url: string; headers?: Record<string, string>; body?: Buffer | Readable; contentLength?: number; auth?: boolean }, signal?: AbortSignal): Promise<HttpResponse>;
  /**
   * Opens the prepared message (header rewritten) again; with `readBytes`,
   * reading the stored message that many bytes at a time.
   */
  open(readBytes?: number): Promise<Readable>;
}
