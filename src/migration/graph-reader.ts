/**
 * How the scan talks to Microsoft Graph: GET with the app's bearer token
 * (or without one, for a pre-authenticated download URL), on the relay's
 * HTTP client (extra CA, proxy). A 429 is waited out as its Retry-After
 * says (Graph's guidance), a few times and never longer than maxWaitMs at
 * once; a 500/502/503/504 is tried again after a short pause. Any other
 * answer goes back to the caller, which decides what it means; an error
 * answer it cannot use becomes a GraphAnswer error carrying Microsoft's
 * status, code and message (what the error catalogue matches on).
 */
import { retryAfterMs, type HttpClient, type HttpResponse } from '../core/http.js';
import type { Logger } from '../core/log.js';
import type { ScanOperation } from '../deliver/microsoft/catalogue.js';
import type { TokenProvider } from '../identity/entra/token-provider.js';

export interface GraphReaderOptions {
  /** Longest single wait for a Retry-After (default 60 s); a longer one ends the source as throttled. */
  maxWaitMs?: number;
  /** 429 answers waited out per request before giving up (default 4). */
  throttleRetries?: number;
  /** Tries after a 5xx answer (default 2, 2 s apart). */
  serverRetries?: number;
  /** Longest time for one request (default 60 s). */
  timeoutMs?: number;
  /** Waits (tests may shorten the 5xx pause). */
  sleep?: (ms: number) => Promise<void>;
}

/** An answer from Graph the scan could not use: what the catalogue needs to explain it. */
export class GraphAnswer extends Error {
  constructor(
    readonly operation: ScanOperation,
    readonly status: number,
    readonly code: string | undefined,
    readonly graphMessage: string | undefined,
    /** The last Retry-After asked for (429), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(`Microsoft Graph answered ${status}${code ? ` ${code}` : ''}${graphMessage ? `: ${graphMessage}` : ''}`);
    this.name = 'GraphAnswer';
  }

  static from(operation: ScanOperation, res: HttpResponse): GraphAnswer {
    const body = res.json<{ error?: { code?: string; message?: string } }>();
    const text = body?.error ? undefined : res.body.toString('utf8').slice(0, 300).trim() || undefined;
    return new GraphAnswer(operation, res.status, body?.error?.code, body?.error?.message ?? text, retryAfterMs(res.headers));
  }
}

const sleeper = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class GraphReader {
  private readonly o: Required<GraphReaderOptions>;

  constructor(
    private readonly http: HttpClient,
    private readonly tokens: TokenProvider,
    /** Graph base URL with version, e.g. https://graph.microsoft.com/v1.0. */
    readonly graphUrl: string,
    private readonly log: Logger,
    opts: GraphReaderOptions = {},
  ) {
    this.o = { maxWaitMs: 60_000, throttleRetries: 4, serverRetries: 2, timeoutMs: 60_000, sleep: sleeper, ...opts };
  }

  /** Permissions (roles) in the app's token: which of the scan's sources it may read. */
  async roles(): Promise<string[]> {
    return (await this.tokens.getToken()).permissions;
  }

  /**
   * GET url (absolute, or a path under the Graph base URL). `auth: false`
   * sends no Authorization header (a pre-authenticated download URL).
   */
  async get(operation: ScanOperation, url: string, opts: { auth?: boolean; headers?: Record<string, string> } = {}): Promise<HttpResponse> {
    const full = /^https?:\/\//.test(url) ? url : `${this.graphUrl.replace(/\/$/, '')}/${url.replace(/^\//, '')}`;
    let throttled = 0;
    let failed = 0;
    for (;;) {
      const headers: Record<string, string> = { accept: 'application/json', ...(opts.headers ?? {}) };
      if (opts.auth !== false) headers.authorization = `Bearer ${(await this.tokens.getToken()).token}`;
      const res = await this.http.request({ method: 'GET', url: full, headers, timeoutMs: this.o.timeoutMs });
      if (res.status === 429) {
        const wait = retryAfterMs(res.headers) ?? 2_000 * 2 ** throttled;
        if (throttled >= this.o.throttleRetries || wait > this.o.maxWaitMs) throw GraphAnswer.from(operation, res);
        throttled += 1;
        this.log.info({ event: 'migration-scan-throttled', operation, waitMs: wait, attempt: throttled },
          `Microsoft Graph throttled the ${operation} request (429); waiting ${Math.ceil(wait / 1000)} s as its Retry-After asks before trying again`);
        await this.o.sleep(wait);
        continue;
      }
      if ([500, 502, 503, 504].includes(res.status) && failed < this.o.serverRetries) {
        failed += 1;
        this.log.info({ event: 'migration-scan-retry', operation, status: res.status, attempt: failed },
          `Microsoft Graph answered ${res.status} to the ${operation} request; trying again in 2 s`);
        await this.o.sleep(retryAfterMs(res.headers) ?? 2_000);
        continue;
      }
      return res;
    }
  }
}
