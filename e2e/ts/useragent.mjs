// The scripted user agent of the e2e clients that sign in through vmcp's OAuth authorization
// server (oauth-client.mjs here, and the $BROWSER of e2e/ts2): it follows redirects by hand,
// keeps cookies, fills the login form and allows on the consent page. It uses nothing but Node's
// built-ins, so any of the e2e npm directories can import it.

const MAX_PAGES = 20;

// where is a URL without its query, for logs and traces: authorization requests carry state and
// code challenges, redirects carry codes.
export function where(url) {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
}

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
export function alertText(html) {
    const m = /<[^>]*role=["']?alert["']?[^>]*>([\s\S]*?)<\//i.exec(html);
    return decodeEntities((m ? m[1] : html).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()).slice(0, 300);
}

// Browser plays the user: it signs in with username/password wherever a login form asks for them
// and allows on the consent page, following redirects until one leaves the sign-in (leaves says
// which: the client's redirect URI), and returns that URL without loading it. record, if given,
// is told of every exchange.
export class Browser {
    constructor(username, password, { leaves, record = () => {} }) {
        this.username = username;
        this.password = password;
        this.leaves = leaves;
        this.record = record;
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
        this.record(method, url, res.status);
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
                if (this.leaves(next)) return next;
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
            if (!form) throw new Error(`the page at ${where(url)} has no form to act on: ${alertText(html)}`);
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
