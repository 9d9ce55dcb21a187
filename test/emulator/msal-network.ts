/**
 * An MSAL-node network client built on the relay's HttpClient, so MSAL can
 * talk to the emulator's HTTPS authority while trusting its test CA (the
 * other way is NODE_EXTRA_CA_CERTS in a child process). Tests use it to
 * prove that a real ConfidentialClientApplication / PublicClientApplication
 * accepts the emulator as an authority.
 */
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { HttpClient } from '../../src/core/http.js';

export class CaNetworkClient implements INetworkModule {
  readonly http: HttpClient;
  /** Every URL MSAL asked for, in order ("GET url" / "POST url"). */
  readonly calls: string[] = [];

  constructor(caPem: string) {
    this.http = new HttpClient({ ca: caPem });
  }

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.send<T>('GET', url, options, timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('POST', url, options);
  }

  private async send<T>(method: string, url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    this.calls.push(`${method} ${url}`);
    const res = await this.http.request({
      method, url, headers: options?.headers ?? {},
      ...(options?.body !== undefined ? { body: options.body } : {}),
      timeoutMs: timeout ?? 30_000,
    });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    return { status: res.status, headers, body: (res.json<T>() ?? {}) as T };
  }

  close(): void {
    this.http.close();
  }
}
