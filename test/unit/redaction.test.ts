/**
 * Credentials kept out of what people read: URLs in traces and logs (an
 * upload session's authtoken, a proxy password) and an error page that
 * quotes the token request.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpClient } from '../../src/core/http.js';
import { redactUrl } from '../../src/core/log.js';
import { toTokenError } from '../../src/identity/entra/errors.js';
import { MsalNetwork } from '../../src/identity/entra/msal-network.js';

describe('redactUrl', () => {
  test('an upload session URL loses its authtoken, whatever its case and place', () => {
    const url = "https://outlook.office.com/api/v2.0/Users('a@b')/Messages('m')/AttachmentSessions('s')?AuthToken=eyJ0eXAi.secret-part&x=1";
    const out = redactUrl(url);
    assert.ok(!out.includes('secret-part'), out);
    assert.match(out, /AttachmentSessions\('s'\)\?AuthToken=…&x=1$/);
    assert.equal(redactUrl('https://h/p?a=1&authtoken=t1&sig=t2'), 'https://h/p?a=1&authtoken=…&sig=…');
  });

  test('a user and password in a URL are hidden; a URL without credentials is unchanged', () => {
    assert.equal(redactUrl('http://relay:pa55w0rd@proxy.internal:3128'), 'http://…@proxy.internal:3128');
    assert.equal(redactUrl('https://graph.microsoft.com/v1.0/users/a%40b/sendMail'), 'https://graph.microsoft.com/v1.0/users/a%40b/sendMail');
  });
});

describe('sign-in errors', () => {
  test('an error page that quotes the token request does not carry the client secret into the error', async () => {
    const secret = 'Qx8~very.secret-value_0123';
    const echo = {
      request: async (req: { body?: unknown }) => {
        const body = Buffer.from(`<html>Bad gateway. Request was: ${String(req.body)}</html>`);
        return { status: 502, headers: {}, body, json: () => undefined };
      },
    } as unknown as HttpClient;
    const net = new MsalNetwork(echo);
    const err = await net.sendPostRequestAsync('https://login.example/tenant/oauth2/v2.0/token', {
      body: `client_id=1111&client_secret=${secret}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&grant_type=client_credentials`,
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(err, 'the non-JSON answer is an error');
    const tokenError = toTokenError(err, 'token for app 1111');
    assert.ok(!tokenError.message.includes(secret.slice(0, 8)), tokenError.message);
    assert.ok(!JSON.stringify(tokenError.details).includes(secret.slice(0, 8)), JSON.stringify(tokenError.details));
    assert.match(tokenError.message, /answered HTTP 502 without JSON/);
    assert.equal(tokenError.details.status, 502);
  });
});
