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

// The Go test kills us at 90 s; give up a little earlier with a message of our own.
const DEADLINE_MS = 80_000;
const MAX_PAGES = 20;

// trace is every HTTP exchange of this run, printed on failure only. It holds methods, URLs
// without their query (authorization requests carry state and code challenges, redirects carry
// codes), statuses and, for failed OAuth calls, the error body, which never holds a token.
const trace = [];

function where(url) {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
}

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

// ---- the user agent -------------------------------------------------------------------------

// CookieJar keeps cookies per host, as much of RFC 6265 as a sign-in needs: name=value, replaced
// by name, deleted by Max-Age<=0 or a past Expires. Paths are not matched: every page of one
// sign-in is on the same small set of paths.
class CookieJar {
    constructor() {
        this.byHost = new Map();
    }

    store(url, res) {
        const host = new URL(url).host;
        const lines = typeof res.headers.getSetCookie === 'function'
            ? res.headers.getSetCookie()
            : (res.headers.get('set-cookie') ?? '').split(/,(?=\s*[^;=\s]+=)/).filter(Boolean);
        for (const line of lines) {
            const [pair, ...attrs] = line.split(';');
            const eq = pair.indexOf('=');
            if (eq <= 0) continue;
            const name = pair.slice(0, eq).trim();
            const value = pair.slice(eq + 1).trim();
            let expired = false;
            for (const attr of attrs) {
                const [k, v = ''] = attr.split('=');
                const key = k.trim().toLowerCase();
                if (key === 'max-age' && Number(v) <= 0) expired = true;
                if (key === 'expires' && Date.parse(v) < Date.now()) expired = true;
            }
            const jar = this.byHost.get(host) ?? new Map();
            if (expired) jar.delete(name);
            else jar.set(name, value);
            this.byHost.set(host, jar);
        }
    }

    header(url) {
        const jar = this.byHost.get(new URL(url).host);
        if (!jar || jar.size === 0) return undefined;
        return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    }
}

function decodeEntities(s) {
    return s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_, e) => {
        const lower = e.toLowerCase();
        if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
        if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
        return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[lower];
    });
}

function attributes(tag) {
    const out = {};
    const re = /([^\s=\/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
    for (const m of tag.matchAll(re)) {
        out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
    }
    return out;
}

// parseForm reads the first <form> of a page: its action and method, the values its inputs
// would submit, and the values of its decision buttons (vmcp's consent page).
function parseForm(html) {
    const m = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
    if (!m) return undefined;
    const form = attributes(m[1]);
    const fields = new URLSearchParams();
    for (const [, tag] of m[2].matchAll(/<input\b([^>]*)>/gi)) {
        const a = attributes(tag);
        const type = (a.type ?? 'text').toLowerCase();
        if (!a.name || ['submit', 'button', 'image', 'reset'].includes(type)) continue;
        if ((type === 'checkbox' || type === 'radio') && !('checked' in a)) continue;
        fields.set(a.name, a.value ?? '');
    }
    const decisions = [];
    for (const [, tag] of m[2].matchAll(/<button\b([^>]*)>/gi)) {
        const a = attributes(tag);
        if (a.name === 'decision') decisions.push(a.value);
    }
    return { action: form.action ?? '', method: (form.method ?? 'get').toUpperCase(), fields, decisions };
}

// alertText is the message a page shows in its alert, or else its whole text, shortened.
function alertText(html) {
    const m = /<[^>]*role=["']?alert["']?[^>]*>([\s\S]*?)<\//i.exec(html);
    return decodeEntities((m ? m[1] : html).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()).slice(0, 300);
}

// Browser plays the user: it signs in with username/password wherever a login form asks for them
// and allows on the consent page. run returns the query the authorization server sent to the
// client's redirect URI.
class Browser {
    constructor(username, password, stopAt) {
        this.username = username;
        this.password = password;
        this.stopAt = stopAt;
        this.jar = new CookieJar();
        this.pagesSeen = [];
        this.formsFilled = []; // "login" or "consent", in order
    }

    async request(method, url, body) {
        const headers = {};
        const cookie = this.jar.header(url);
        if (cookie) headers.cookie = cookie;
        if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
        const res = await fetch(url, { method, headers, body, redirect: 'manual' });
        this.jar.store(url, res);
        trace.push({ by: 'browser', method, url: where(url), status: res.status });
        return res;
    }

    async run(start) {
        let res = await this.request('GET', start);
        let url = start;
        for (let page = 0; page < MAX_PAGES; page++) {
            if (res.status >= 300 && res.status < 400) {
                const location = res.headers.get('location');
                if (!location) throw new Error(`HTTP ${res.status} without Location at ${where(url)}`);
                await res.body?.cancel();
                const next = new URL(location, url).href;
                if (next.startsWith(this.stopAt)) return new URL(next).searchParams;
                // 307/308 would repeat a POST; no sign-in page here answers a POST with them.
                url = next;
                res = await this.request('GET', url);
                continue;
            }
            const html = await res.text();
            if (res.status !== 200) {
                throw new Error(`HTTP ${res.status} at ${where(url)}: ${alertText(html)}`);
            }
            const form = parseForm(html);
            if (!form) throw new Error(`the page at ${where(url)} has no form to act on`);
            this.pagesSeen.push(new URL(url).pathname);
            if (form.fields.has('username') || form.fields.has('password')) {
                if (this.formsFilled.includes('login')) {
                    throw new Error(`the login form came back at ${where(url)}: ${alertText(html)}`);
                }
                form.fields.set('username', this.username);
                form.fields.set('password', this.password);
                this.formsFilled.push('login');
            }
            if (form.decisions.length > 0) {
                if (!form.decisions.includes('allow')) {
                    throw new Error(`the consent page at ${where(url)} offers no "allow" (decisions: ${form.decisions})`);
                }
                form.fields.set('decision', 'allow');
                this.formsFilled.push('consent');
            }
            const action = new URL(form.action || url, url);
            if (form.method === 'POST') {
                url = action.href;
                res = await this.request('POST', url, form.fields.toString());
            } else {
                action.search = form.fields.toString();
                url = action.href;
                res = await this.request('GET', url);
            }
        }
        throw new Error(`sign-in did not reach the client's redirect URI within ${MAX_PAGES} pages (pages seen: ${this.pagesSeen})`);
    }
}

// ---- the SDK's OAuthClientProvider, in memory -------------------------------------------------

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
        const back = await this.browser.run(authorizationUrl.href);
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
    const browser = new Browser(username, password, redirect);
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
