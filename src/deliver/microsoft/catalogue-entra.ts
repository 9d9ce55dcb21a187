/**
 * Catalogue entries for Entra ID (the token endpoint): AADSTS errors, the
 * sign-in host not reached, and no sign-in stored. All of them stop every
 * message of the route the same way until an admin fixes them, so messages
 * wait (retry, scope destination) instead of bouncing. Wording of the
 * examples follows Microsoft's error code reference and replies quoted in
 * public reports.
 */
import type { EntraEntry } from './catalogue-types.js';

const TRACE = '\r\nTrace ID: 0b3c6e2a-4f0e-4c1b-9d3e-3f1a2b4c5d00\r\nCorrelation ID: 7d9e1f20-1a2b-4c3d-8e9f-0a1b2c3d4e5f\r\nTimestamp: 2025-03-04 10:11:12Z';
const APP = '11111111-2222-3333-4444-555555555555';
const TENANT = 'contoso.onmicrosoft.com';
const SEND_TEST = 'Then check with: authrelay send-test --route <upstream> --to <an address>.';

function entry(e: Omit<EntraEntry, 'source' | 'action' | 'scope'> & Partial<Pick<EntraEntry, 'action' | 'scope'>>): EntraEntry {
  return { source: 'entra', action: 'retry', scope: 'destination', ...e };
}

export const ENTRA_ENTRIES: readonly EntraEntry[] = [
  entry({
    ref: 'entra.not-signed-in', category: 'auth', match: { notSignedIn: true },
    example: { notSignedIn: true },
    hint: 'This route sends as a signed-in user, and nobody has signed in yet (or the stored sign-in was removed).',
    fix: `Run: authrelay oauth login <upstream> and sign in as <mailbox> in a browser with the code shown. ${SEND_TEST}`,
  }),
  entry({
    ref: 'entra.AADSTS7000215', category: 'auth', match: { aadsts: [7000215] },
    example: { status: 401, error: 'invalid_client', aadsts: 7000215, description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${APP}'.${TRACE}` },
    hint: 'Entra ID rejected the client secret: it is wrong, or it is the secret\'s ID instead of its value.',
    fix: 'In Entra admin center → App registrations → <appId> → Certificates & secrets, create a new client secret and copy its Value (not the Secret ID) into the route\'s clientSecret, then restart the relay.',
  }),
  entry({
    ref: 'entra.AADSTS7000222', category: 'auth', match: { aadsts: [7000222] },
    example: { status: 401, error: 'invalid_client', aadsts: 7000222, description: `AADSTS7000222: The provided client secret keys for app '${APP}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.${TRACE}` },
    hint: 'The app\'s client secret has expired, so Entra ID no longer issues tokens with it.',
    fix: 'In Entra admin center → App registrations → <appId> → Certificates & secrets → New client secret; put its Value into the route\'s clientSecret and restart the relay (or switch the route to a certificate).',
  }),
  entry({
    ref: 'entra.AADSTS7000218', category: 'auth', match: { aadsts: [7000218] },
    example: { status: 401, error: 'invalid_client', aadsts: 7000218, description: `AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.${TRACE}` },
    hint: 'No credential reached Entra ID: the route has neither a client secret nor a certificate.',
    fix: 'Set the route\'s clientSecret (or certificate and key) in the configuration; a secret given through an environment variable or file must not be empty. Restart the relay.',
  }),
  entry({
    ref: 'entra.AADSTS700027', category: 'auth', match: { aadsts: [700027] },
    example: { status: 401, error: 'invalid_client', aadsts: 700027, description: `AADSTS700027: Client assertion failed signature validation.${TRACE}` },
    hint: 'Entra ID could not verify the certificate sign-in: the certificate is not uploaded to the app, or the key does not belong to it.',
    fix: 'In Entra admin center → App registrations → <appId> → Certificates & secrets → Certificates, upload the public certificate (.cer/.pem) whose private key the route uses; check that the thumbprints match.',
  }),
  entry({
    ref: 'entra.AADSTS700016', category: 'auth', match: { aadsts: [700016] },
    example: { status: 400, error: 'unauthorized_client', aadsts: 700016, description: `AADSTS700016: Application with identifier '${APP}' was not found in the directory '${TENANT}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.${TRACE}` },
    hint: 'The tenant has no app with this client ID: the ID is mistyped, the app was deleted, or the route points at another tenant.',
    fix: 'Copy the Application (client) ID and Directory (tenant) ID from Entra admin center → App registrations → the app → Overview into the route\'s clientId and tenant.',
  }),
  entry({
    ref: 'entra.AADSTS90002', category: 'auth', match: { aadsts: [90002] },
    example: { status: 400, error: 'invalid_request', aadsts: 90002, description: `AADSTS90002: Tenant 'contoso.onmicrosft.com' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.${TRACE}` },
    hint: 'Entra ID does not know this tenant in this cloud: the tenant ID or domain is mistyped, or the tenant is in another cloud (e.g. US Government).',
    fix: 'Set the route\'s tenant to the Directory (tenant) ID from Entra admin center → Overview, and its cloud to the one the tenant lives in (global, usgov, usgov-dod, china).',
  }),
  entry({
    ref: 'entra.AADSTS700022', category: 'auth', match: { aadsts: [700022, 70011] },
    example: { status: 400, error: 'invalid_scope', aadsts: 70011, description: `AADSTS70011: The provided value for the input parameter 'scope' isn't valid. The scope https://graph.microsoft.com/Mail.Send isn't valid.${TRACE}` },
    hint: 'The relay asked Entra ID for a token with a scope it does not accept (an app token needs exactly one "<resource>/.default").',
    fix: 'Check the route\'s cloud and, for delegated sign-in, that the app is allowed the scope; if the configuration is right, report it as a relay bug with this reply.',
  }),
  entry({
    ref: 'entra.AADSTS65001', category: 'permission', match: { aadsts: [65001, 90094] },
    example: { status: 400, error: 'invalid_grant', aadsts: 65001, description: `AADSTS65001: The user or administrator has not consented to use the application with ID '${APP}' named 'authrelay'. Send an interactive authorization request for this user and resource.${TRACE}` },
    hint: 'Nobody has granted the app the permissions it asks for (admin consent is missing).',
    fix: 'In Entra admin center → App registrations → <appId> → API permissions, click "Grant admin consent for <tenant>"; for a delegated route run authrelay oauth login <upstream> again afterwards.',
  }),
  entry({
    ref: 'entra.AADSTS70008', category: 'auth', match: { aadsts: [70008, 700082, 50173] },
    example: { status: 400, error: 'invalid_grant', aadsts: 700082, description: `AADSTS700082: The refresh token has expired due to inactivity. The token was issued on 2024-11-02T09:15:00.0000000Z and was inactive for 90.00:00:00.${TRACE}` },
    hint: 'The stored sign-in has expired or was revoked (password change, admin sign-out, 90 days unused), so the relay cannot get new tokens.',
    fix: `Run: authrelay oauth login <upstream> and sign in as <mailbox> again. ${SEND_TEST}`,
  }),
  entry({
    ref: 'entra.AADSTS50076', category: 'auth', match: { aadsts: [50076, 50079] },
    example: { status: 400, error: 'invalid_grant', aadsts: 50076, description: `AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000002-0000-0ff1-ce00-000000000000'.${TRACE}` },
    hint: 'A sign-in policy now requires multi-factor authentication for this account, which a stored sign-in cannot satisfy on its own.',
    fix: 'Run: authrelay oauth login <upstream> and complete the MFA prompt; if it keeps coming back, switch the route to an app registration (client credentials) instead of a user sign-in.',
  }),
  entry({
    ref: 'entra.AADSTS53003', category: 'auth', match: { aadsts: [53003] },
    example: { status: 400, error: 'invalid_grant', aadsts: 53003, description: `AADSTS53003: Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.${TRACE}` },
    hint: 'A Conditional Access policy blocks this sign-in (for example from this IP address or for this app).',
    fix: 'In Entra admin center → Sign-in logs, open the failed sign-in of <appId> and see which Conditional Access policy applied; exclude the app (workload identity) or the relay\'s public IP from it.',
  }),
  entry({
    ref: 'entra.AADSTS50034', category: 'auth', match: { aadsts: [50034] },
    example: { status: 400, error: 'invalid_grant', aadsts: 50034, description: `AADSTS50034: The user account scanner@contoso.com does not exist in the ${TENANT} directory. To sign into this application, the account must be added to the directory.${TRACE}` },
    hint: 'The account used to sign in does not exist in this tenant.',
    fix: 'Check the user name in the route\'s configuration (it must be the account\'s sign-in name, its UPN) and that the route\'s tenant is the one that holds it; then run authrelay oauth login <upstream>.',
  }),
  entry({
    ref: 'entra.AADSTS7000112', category: 'auth', match: { aadsts: [7000112] },
    example: { status: 401, error: 'unauthorized_client', aadsts: 7000112, description: `AADSTS7000112: Application '${APP}'(authrelay) is disabled.${TRACE}` },
    hint: 'The app registration is disabled in this tenant, so nobody can sign in with it.',
    fix: 'In Entra admin center → Enterprise applications → the app → Properties, set "Enabled for users to sign-in?" to Yes.',
  }),
  entry({
    ref: 'entra.AADSTS50126', category: 'auth', match: { aadsts: [50126] },
    example: { status: 400, error: 'invalid_grant', aadsts: 50126, description: `AADSTS50126: Error validating credentials due to invalid username or password.${TRACE}` },
    hint: 'Entra ID rejected the user name or password.',
    fix: 'Check the account and password set for the route, then run authrelay oauth login <upstream> to sign in again.',
  }),
  entry({
    ref: 'entra.unavailable', category: 'unavailable', match: { status: [429, 500, 502, 503, 504] },
    example: { status: 503, error: 'temporarily_unavailable', aadsts: 90033, description: `AADSTS90033: A transient error has occurred. Please try again.${TRACE}` },
    hint: 'Entra ID is busy or having trouble; the relay tries again shortly.',
    fix: 'Nothing to do if it passes; if it lasts, check https://status.cloud.microsoft and the Microsoft 365 admin center → Health → Service health.',
  }),
];

/** The sign-in host not reached at all (DNS, connection, TLS). */
export const ENTRA_NETWORK_ENTRIES: readonly EntraEntry[] = [
  entry({
    ref: 'entra.network-dns', category: 'connection', match: { networkCode: /^(ENOTFOUND|EAI_AGAIN|EAI_FAIL|EAI_NONAME)$/ },
    example: { networkCode: 'ENOTFOUND' },
    hint: 'The relay cannot look up the Microsoft sign-in host name (DNS).',
    fix: 'Check the relay machine\'s DNS (try: nslookup login.microsoftonline.com) and, behind a proxy, set the route\'s proxy.',
  }),
  entry({
    ref: 'entra.network-tls', category: 'tls', match: { networkCode: /^(CERT_|UNABLE_TO_(GET|VERIFY)|SELF_SIGNED|DEPTH_ZERO|ERR_TLS_CERT|ERR_SSL|EPROTO)/ },
    example: { networkCode: 'SELF_SIGNED_CERT_IN_CHAIN' },
    hint: 'The sign-in host\'s TLS certificate is not trusted: usually a proxy or firewall that inspects HTTPS with its own certificate.',
    fix: 'Give the route the inspecting proxy\'s root certificate (ca: /path/to/proxy-root.pem), or exempt login.microsoftonline.com from HTTPS inspection.',
  }),
  entry({
    ref: 'entra.network-connect', category: 'connection', match: { networkCode: /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|ECONNABORTED|UND_ERR_|ESOCKETTIMEDOUT)/ },
    example: { networkCode: 'ECONNREFUSED' },
    hint: 'The relay cannot connect to the Microsoft sign-in host (refused, reset or timed out).',
    fix: 'Allow outbound HTTPS (port 443) from the relay to login.microsoftonline.com, or set the route\'s proxy if the network requires one.',
  }),
];
