/**
 * Turns what MSAL throws into a TokenError that the delivery catalogue can
 * explain: the OAuth error, the AADSTS number, the HTTP status, Microsoft's
 * description (it names apps and tenants, never secrets) or the network code.
 * A short hint for the common AADSTS codes is put in front of the message.
 */
import { AuthError, ServerError, InteractionRequiredAuthError } from '@azure/msal-node';
import { TokenError } from './token-provider.js';
import { signInNetworkDetails } from './msal-network.js';

const HINTS: Record<number, string> = {
  7000215: 'the client secret is wrong; use the secret VALUE shown once when it was created, not its ID',
  7000222: 'the client secret has expired; create a new one in the app registration (Certificates & secrets)',
  7000218: 'no credential was sent; set clientSecret or certificate',
  700027: 'the certificate assertion was refused; upload this certificate to the app registration',
  90002: 'the tenant does not exist in this cloud; check `tenant` and `cloud`',
  700016: 'the application (clientId) is not registered in this tenant; check `clientId` and `tenant`',
  70011: 'the scope is not valid for this resource',
  65001: 'the user or an administrator has not consented to the permission',
  90094: 'an administrator must grant consent to the permission',
  70008: 'the stored sign-in has expired',
  700082: 'the stored sign-in has expired after a long time without use',
  50173: 'the stored sign-in was revoked (password change or administrator action)',
  7000112: 'the application is disabled',
  50049: 'the sign-in host is not a known Microsoft identity instance',
};

const POLL_ERRORS: Record<string, string> = {
  authorization_declined: 'the user declined the sign-in',
  expired_token: 'the code expired before the sign-in was completed; run the login again',
  bad_verification_code: 'Entra did not recognise the device code',
};

/** Microsoft's description out of MSAL's "Error(s): ... - Description: ... - Correlation ID: ..." text. */
export function extractDescription(message: string): string {
  const m = /Description: ([\s\S]*?)(?: - Correlation ID:|$)/.exec(message);
  const text = (m ? m[1]! : message).split(/\r?\n/)[0]!;
  return text.replace(/\s*Trace ID:.*$/s, '').trim();
}

export function parseAadsts(...texts: (string | undefined)[]): number | undefined {
  for (const t of texts) {
    const m = t ? /AADSTS(\d+)/.exec(t) : null;
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** `context` names what was asked for, e.g. "token for app 1111... in tenant contoso". */
export function toTokenError(err: unknown, context: string, lastStatus?: number): TokenError {
  if (err instanceof TokenError) return err;
  const network = signInNetworkDetails(err);
  if (network && err instanceof AuthError) {
    return new TokenError(`${context}: ${err.errorMessage}`, {
      ...(network.networkCode ? { networkCode: network.networkCode } : {}),
      ...(network.status !== undefined ? { status: network.status } : {}),
      description: err.errorMessage,
    });
  }
  if (err instanceof AuthError && err.errorCode === 'post_request_failed' && /^[a-z_]+$/.test(err.errorMessage)) {
    // Device code polling: MSAL passes Entra's error (authorization_declined, expired_token, ...) as the message.
    const error = err.errorMessage;
    return new TokenError(`${context}: ${POLL_ERRORS[error] ?? error} (${error})`, {
      error,
      ...(lastStatus !== undefined ? { status: lastStatus } : {}),
      description: POLL_ERRORS[error] ?? error,
    });
  }
  if (err instanceof AuthError) {
    const isServer = err instanceof ServerError || err instanceof InteractionRequiredAuthError;
    const description = isServer ? extractDescription(err.errorMessage) : err.errorMessage;
    const errorNo = (err as { errorNo?: string }).errorNo;
    const aadsts = parseAadsts(description, err.errorMessage) ?? (errorNo && /^\d+$/.test(errorNo) ? Number(errorNo) : undefined);
    const status = (err as { status?: number }).status ?? (isServer ? lastStatus : undefined);
    const hint = aadsts !== undefined ? HINTS[aadsts] : undefined;
    const code = err.errorCode || undefined;
    const summary = hint ?? (description || code || 'sign-in failed');
    return new TokenError(`${context}: ${summary}${aadsts !== undefined ? ` (AADSTS${aadsts})` : code ? ` (${code})` : ''}`, {
      ...(code ? { error: code } : {}),
      ...(aadsts !== undefined ? { aadsts } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(description ? { description } : {}),
    });
  }
  const e = err as NodeJS.ErrnoException | undefined;
  return new TokenError(`${context}: ${e?.message ?? String(err)}`, {
    ...(e?.code ? { networkCode: e.code } : {}),
    description: e?.message ?? String(err),
  });
}
