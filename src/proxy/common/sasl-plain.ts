/**
 * SASL PLAIN (RFC 4616) as legacy clients send it: base64 of
 * authzid NUL authcid NUL password. Decoded strictly: canonical base64,
 * exactly two NULs, a non-empty user name. "=" is the empty initial response.
 */
export interface PlainCredentials {
  authzid: string;
  user: string;
  password: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function decodeSaslPlain(response: string): PlainCredentials | undefined {
  const text = response.trim();
  if (text === '=' || !BASE64.test(text)) return undefined;
  const parts = Buffer.from(text, 'base64').toString('utf8').split('\0');
  if (parts.length !== 3) return undefined;
  const [authzid, user, password] = parts as [string, string, string];
  if (!user) return undefined;
  return { authzid, user, password };
}
