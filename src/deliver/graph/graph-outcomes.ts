/**
 * Graph answers and HTTP failures as DeliveryOutcomes. Known Graph errors are
 * explained by the Microsoft error catalogue (hint, fix, ref); the rest get a
 * generic outcome that keeps Graph's status, code and message. Throttling and
 * outages honour Retry-After. An answer that never came after a send request
 * had gone out in full (timeout, reset, or 504) is an uncertain outcome:
 * retried, and marked as a possible duplicate.
 */
import { HttpError, retryAfterMs, type HttpResponse } from '../../core/http.js';
import type { DeliveryOutcome } from '../../core/outcome.js';
import { explainGraph, outcomeFrom, type GraphOperation, type PlaceholderValues } from '../microsoft/catalogue.js';

/** Which call answered: a send (sendMail, draft send) may have delivered even without an answer. */
export type GraphStep = GraphOperation | 'attachment' | 'upload';

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

function isSend(step: GraphStep): boolean {
  return step === 'sendMail' || step === 'send-draft';
}

function catalogueOperation(step: GraphStep): GraphOperation {
  return step === 'attachment' || step === 'upload' ? 'draft' : step;
}

/** The outcome of a non-success Graph answer. */
export function outcomeForResponse(res: HttpResponse, step: GraphStep, names: PlaceholderValues): DeliveryOutcome {
  const { code, message } = graphError(res);
  const response = `${res.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
  const wait = retryAfterMs(res.headers);
  const reply = { code: res.status, response, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  const uncertain = res.status === 504 && isSend(step);
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

/** The outcome of a request that got no answer. */
export function outcomeForHttpError(err: HttpError, step: GraphStep): DeliveryOutcome {
  if (err.code === 'ABORTED') return interrupted();
  const response = `${err.code}: ${err.message}`;
  if (err.bodySent && isSend(step)) {
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
