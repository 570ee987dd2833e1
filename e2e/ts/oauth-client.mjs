// An MCP client built on the official TypeScript SDK that knows only a virtual server's URL and
// signs in through vmcp's OAuth authorization server, as a desktop or IDE client would:
//
//	node oauth-client.mjs <virtual-server-url> <username> <password>
//
// The SDK does the protocol (RFC 9728 discovery from the 401, RFC 8414 metadata, RFC 7591
// dynamic registration, authorization code + PKCE S256 with the RFC 8707 resource, code
// redemption, refresh). This file supplies only what an application supplies: storage for
// what the SDK hands it (OAuthClientProvider) and a user agent. The user agent is scripted with
// fetch: it follows redirects by hand, keeps cookies, fills the login form and allows on the
// consent page, and stops at the client's loopback redirect URI, where a real browser would hand
// the code back to the app.
//
// On success it prints one JSON line to stdout. On failure it exits non-zero with the reason and
// a trace of the HTTP exchanges on stderr. Tokens, codes and secrets are never printed.

import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

import { Browser, where } from './useragent.mjs';

// The Go test kills us at 90 s; give up a little earlier with a message of our own.
const DEADLINE_MS = 80_000;

// trace is every HTTP exchange of this run, printed on failure only. It holds methods, URLs
// without their query (authorization requests carry state and code challenges, redirects carry
// codes), statuses and, for failed OAuth calls, the error body, which never holds a token.
const trace = [];

// recordingFetch is the fetch the SDK uses for MCP and OAuth requests. It also remembers which
// access token the latest MCP request carried, so the run can prove the refreshed one was used.
function recordingFetch(mcpURL, seen) {
    return async (input, init) => {
        const url = input instanceof Request ? input.url : String(input);
        const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
        const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
        const res = await fetch(input, init);
        const entry = { by: 'sdk', method, url: where(url), status: res.status };
        if (!res.ok && new URL(url).pathname.includes('oauth')) {
            entry.body = (await res.clone().text()).slice(0, 400);
        }
        if (res.status === 401) {
            entry.wwwAuthenticate = res.headers.get('www-authenticate');
        }
        trace.push(entry);
        if (where(url) === where(mcpURL) && method === 'POST') {
            seen.lastMCPAuthorization = headers.get('authorization');
            seen.lastMCPStatus = res.status;
        }
        return res;
    };
}

// A loopback redirect URI (RFC 8252 §7.3) on a port nobody listens on: the user agent stops
// when it is sent there.
async function unusedLoopbackRedirect() {
    const srv = createServer();
    await new Promise((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
    const { port } = srv.address();
    await new Promise(resolve => srv.close(resolve));
    return `http://127.0.0.1:${port}/callback`;
}

// ---- the user agent ---------------------------------------------------------------------------

class InMemoryOAuthProvider {
    constructor(redirectUrl, browser) {
        this._redirectUrl = redirectUrl;
        this.browser = browser;
        this._clientInformation = undefined;
        this._tokens = undefined;
        this._codeVerifier = undefined;
        this._discovery = undefined;
        this._state = undefined;
        this.authorizationCode = undefined;
        this.signIns = 0;
        // Set once signed in: a second sign-in means the SDK could not refresh.
        this.signInAllowed = true;
        // Set after the refresh: new tokens after that mean the refreshed ones were rejected.
        this.tokensFrozen = false;
    }

    get redirectUrl() {
        return this._redirectUrl;
    }

    get clientMetadata() {
        return {
            client_name: 'vmcp e2e TypeScript SDK client',
            redirect_uris: [this._redirectUrl],
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            token_endpoint_auth_method: 'none',
        };
    }

    state() {
        this._state = randomBytes(16).toString('base64url');
        return this._state;
    }

    clientInformation() {
        return this._clientInformation;
    }

    // Stored unchanged: the SDK stamps the authorization server's URL on what it saves and
    // discards what was stamped for another one.
    saveClientInformation(info) {
        this._clientInformation = info;
    }

    tokens() {
        return this._tokens;
    }

    saveTokens(tokens) {
        if (this.tokensFrozen) {
            throw new Error('the SDK fetched new tokens again right after the refresh: vmcp rejected the refreshed access token');
        }
        this._tokens = tokens;
    }

    saveCodeVerifier(verifier) {
        this._codeVerifier = verifier;
    }

    codeVerifier() {
        if (!this._codeVerifier) throw new Error('no PKCE code verifier saved');
        return this._codeVerifier;
    }

    saveDiscoveryState(state) {
        this._discovery = state;
    }

    discoveryState() {
        return this._discovery;
    }

    invalidateCredentials(scope) {
        if (scope === 'all' || scope === 'client') this._clientInformation = undefined;
        if (scope === 'all' || scope === 'tokens') this._tokens = undefined;
        if (scope === 'all' || scope === 'verifier') this._codeVerifier = undefined;
        if (scope === 'all' || scope === 'discovery') this._discovery = undefined;
    }

    async redirectToAuthorization(authorizationUrl) {
        if (!this.signInAllowed) {
            throw new Error('the SDK started a new authorization instead of refreshing the token (see the token endpoint answer in the trace)');
        }
        this.signIns++;
        const q = authorizationUrl.searchParams;
        for (const [name, want] of [['response_type', 'code'], ['code_challenge_method', 'S256']]) {
            if (q.get(name) !== want) throw new Error(`the SDK's authorization request has ${name}=${q.get(name)}, want ${want}`);
        }
        if (!q.get('resource')) throw new Error("the SDK's authorization request has no resource indicator");
        const back = new URL(await this.browser.run(authorizationUrl.href)).searchParams;
        if (back.get('error')) {
            throw new Error(`authorization failed: ${back.get('error')}: ${back.get('error_description') ?? ''}`);
        }
        if (back.get('state') !== this._state) throw new Error('the redirect carries a different state than the authorization request');
        // RFC 9207: the iss parameter names the authorization server that issued the code.
        const issuer = this._discovery?.authorizationServerMetadata?.issuer;
        if (back.has('iss') && issuer && back.get('iss') !== issuer) {
            throw new Error(`the redirect's iss ${back.get('iss')} is not the authorization server's issuer ${issuer}`);
        }
        if (!back.get('code')) throw new Error('the redirect carries no authorization code');
        this.authorizationCode = back.get('code');
    }
}

// ---- the run ----------------------------------------------------------------------------------

function resultOf(res) {
    if (res.structuredContent !== undefined) return res.structuredContent;
    return (res.content ?? []).filter(c => c.type === 'text').map(c => c.text).join('\n');
}

function newClient(serverUrl, provider, fetchFn) {
    const transport = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider, fetch: fetchFn });
    const client = new Client({ name: 'vmcp-e2e-ts', version: '1.0.0' });
    return { client, transport };
}

async function main() {
    const [serverUrl, username, password] = process.argv.slice(2);
    if (!serverUrl || !username || !password) {
        throw new Error('usage: node oauth-client.mjs <virtual-server-url> <username> <password>');
    }
    const redirect = await unusedLoopbackRedirect();
    const browser = new Browser(username, password, {
        leaves: next => next.startsWith(redirect),
        record: (method, url, status) => trace.push({ by: 'browser', method, url: where(url), status }),
    });
    const provider = new InMemoryOAuthProvider(redirect, browser);
    const seen = {};
    const fetchFn = recordingFetch(serverUrl, seen);

    // 1. Unauthenticated: the SDK meets the 401, discovers, registers and sends the user to sign
    //    in; connect fails with UnauthorizedError until the app hands it the code.
    const first = newClient(serverUrl, provider, fetchFn);
    try {
        await first.client.connect(first.transport);
        throw new Error('connected without signing in: vmcp did not ask for OAuth');
    } catch (err) {
        if (!(err instanceof UnauthorizedError)) throw err;
    }
    if (provider.signIns !== 1 || !provider.authorizationCode) {
        throw new Error(`expected one sign-in with a code, got ${provider.signIns} sign-ins`);
    }
    await first.transport.finishAuth(provider.authorizationCode);
    provider.signInAllowed = false;
    const signedIn = provider.tokens();
    if (!signedIn?.access_token) throw new Error('no access token after redeeming the code');
    if (!signedIn.refresh_token) throw new Error('vmcp issued no refresh token for a client registered with the refresh_token grant');

    // 2. Signed in: a new connection, as the SDK's examples do after finishAuth.
    const { client, transport } = newClient(serverUrl, provider, fetchFn);
    await client.connect(transport);
    const tools = (await client.listTools()).tools.map(t => t.name);

    const added = await client.callTool({
        name: 'notes__add_note',
        arguments: { title: 'From the TypeScript SDK', body: 'signed in through vmcp' },
    });
    if (added.isError) throw new Error(`notes__add_note failed: ${JSON.stringify(resultOf(added))}`);

    const forecast = await client.callTool({ name: 'weather__get_forecast', arguments: { city: 'Oslo', days: 1 } });
    if (forecast.isError) throw new Error(`weather__get_forecast failed: ${JSON.stringify(resultOf(forecast))}`);
    const f = forecast.structuredContent;
    const forecastOk = f?.city === 'Oslo' && Array.isArray(f.days) && f.days.length === 1;

    // 3. Refresh through the SDK's own path: auth() with stored tokens that carry a refresh
    //    token posts grant_type=refresh_token to the token endpoint (refreshAuthorization). A
    //    failed refresh would fall back to a new sign-in, which the provider now refuses.
    const result = await auth(provider, { serverUrl, fetchFn });
    const fresh = provider.tokens();
    const refreshed = result === 'AUTHORIZED' && !!fresh?.access_token && fresh.access_token !== signedIn.access_token;
    if (!refreshed) throw new Error(`auth() after sign-in returned ${result} without a new access token`);
    provider.tokensFrozen = true;

    // 4. The same session, now on the refreshed access token.
    const afterRefresh = (await client.listTools()).tools.length;
    const usedRefreshedToken = seen.lastMCPAuthorization === `Bearer ${fresh.access_token}` && seen.lastMCPStatus === 200;
    if (!usedRefreshedToken) throw new Error(`the tools/list after the refresh did not go out with the refreshed token and succeed (HTTP ${seen.lastMCPStatus})`);
    await client.close();

    process.stdout.write(JSON.stringify({
        tools,
        addNote: resultOf(added),
        forecastOk,
        refreshed,
        refreshTokenRotated: !!fresh.refresh_token && fresh.refresh_token !== signedIn.refresh_token,
        usedRefreshedToken,
        afterRefreshTools: afterRefresh,
        pagesSeen: browser.pagesSeen,
        formsFilled: browser.formsFilled,
        signIns: provider.signIns,
    }) + '\n');
}

const deadline = setTimeout(() => {
    process.stderr.write(`oauth-client: gave up after ${DEADLINE_MS / 1000}s\n${traceText()}`);
    process.exit(3);
}, DEADLINE_MS);
deadline.unref();

function traceText() {
    return 'HTTP exchanges:\n' + trace.map(e => '  ' + JSON.stringify(e)).join('\n') + '\n';
}

main().then(
    () => process.exit(0),
    err => {
        process.stderr.write(`oauth-client: ${err?.stack ?? err}\n${traceText()}`);
        process.exit(1);
    },
);
