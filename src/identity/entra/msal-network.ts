/**
 * MSAL's network module built on the relay's HttpClient, so sign-in requests
 * honour the upstream's extra CA bundle and outbound proxy like every other
 * upstream call. It also counts the token requests really sent (the cache's
 * effect shows there), remembers the status of the last answer (MSAL does not
 * always keep it), and turns a connection failure into an MSAL AuthError that
 * still carries the network error code.
 */
import { AuthError, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';
import { HttpClient, HttpError } from '../../core/http.js';

/**
 * An MSAL error for a request that got no usable answer: `networkCode` says
 * why it got none (ECONNREFUSED, CERT_...), `status` is set when the answer
 * was not JSON (a proxy's or gateway's error page). MSAL only passes its own
 * AuthError through untouched (and its constructor resets the prototype, so
 * a subclass would not survive): the details ride on a plain AuthError.
 */
export interface SignInNetworkDetails {
  networkCode?: string;
  status?: number;
}

const DETAILS = Symbol.for('authrelay.signInNetwork');

export function signInNetworkError(message: string, details: SignInNetworkDetails): AuthError {
  const err = new AuthError('network_error', '', message);
  Object.defineProperty(err, DETAILS, { value: details, enumerable: false });
  return err;
}

/** The details of an error made by signInNetworkError, else undefined. */
export function signInNetworkDetails(err: unknown): SignInNetworkDetails | undefined {
  return err && typeof err === 'object' ? ((err as Record<symbol, SignInNetworkDetails | undefined>)[DETAILS]) : undefined;
}

export class MsalNetwork implements INetworkModule {
  /** POSTs to a token endpoint (client credentials, device code polls, refreshes). */
  tokenRequests = 0;
  /** HTTP status of the last answer from the sign-in host. */
  lastStatus: number | undefined;

  constructor(
    private readonly http: HttpClient,
    private readonly timeoutMs = 30_000,
  ) {}

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.send<T>('GET', url, options, timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    if (/\/token(\?|$)/.test(new URL(url).pathname + new URL(url).search)) this.tokenRequests++;
    return this.send<T>('POST', url, options);
  }

  private async send<T>(method: string, url: string, options: NetworkRequestOptions | undefined, timeout?: number): Promise<NetworkResponse<T>> {
    let res;
    try {
      res = await this.http.request({
        method,
        url,
        headers: { ...(options?.headers ?? {}) },
        ...(method === 'POST' ? { body: options?.body ?? '' } : {}),
        timeoutMs: timeout ?? this.timeoutMs,
      });
    } catch (err) {
      this.lastStatus = undefined;
      const code = err instanceof HttpError ? err.code : 'ERROR';
      throw signInNetworkError(`could not reach the sign-in host: ${(err as Error).message}`, { networkCode: code });
    }
    this.lastStatus = res.status;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const body = res.json<T>();
    if (body === undefined) {
      const snippet = withoutCredentials(res.body.subarray(0, 4096).toString('utf8')).slice(0, 120).replace(/\s+/g, ' ');
      throw signInNetworkError(`${new URL(url).host} answered HTTP ${res.status} without JSON${snippet ? `: ${snippet}` : ''}`, { status: res.status });
    }
    return { headers, body, status: res.status };
  }
}

/**
 * An error page that quotes the request (some proxies and gateways echo it)
 * would carry the sign-in's credentials into the error, its log line and
 * `oauth status`: the values of the token request's secret fields are cut.
 */
export function withoutCredentials(text: string): string {
  return text.replace(/\b((?:client_secret|client_assertion|refresh_token|assertion|password|device_code|code)=)[^&\s"'<]*/gi, '$1…');
}
