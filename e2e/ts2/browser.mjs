#!/usr/bin/env node
// A scripted browser for clients that open the system browser to sign in (mcp-remote, through
// the `open` package and xdg-open, which runs $BROWSER with the authorization URL):
//
//	BROWSER=browser.mjs VMCP_MATRIX_USER=alice VMCP_MATRIX_PASSWORD=alice <client>
//
// It does what a person does on vmcp's sign-in pages: follows redirects, keeps cookies, fills the
// login form, allows on the consent page, and finally loads the client's redirect URI (the first
// redirect that leaves the authorization server's origin), which hands the code to the client's
// callback server. It never prints a token, a code or a password; it exits non-zero with the
// reason on stderr when the sign-in goes wrong.

import { appendFileSync } from 'node:fs';

const MAX_PAGES = 20;

// log goes to stderr and, when VMCP_MATRIX_BROWSER_LOG names a file, to that file too: a client
// that launches the browser usually discards its output.
function log(line) {
    process.stderr.write(`browser: ${line}\n`);
    if (process.env.VMCP_MATRIX_BROWSER_LOG) appendFileSync(process.env.VMCP_MATRIX_BROWSER_LOG, `${line}\n`);
}

function where(url) {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
}

function attributes(tag) {
    const out = {};
    for (const m of tag.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
        out[m[1].toLowerCase()] = (m[2] ?? m[3] ?? m[4] ?? '').replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
    }
    return out;
}

// parseForm reads the first <form> of a page: action, method, the values its inputs submit, and
// its decision buttons (vmcp's consent page).
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
    const decisions = [...m[2].matchAll(/<button\b([^>]*)>/gi)].map(([, tag]) => attributes(tag)).filter(a => a.name === 'decision').map(a => a.value);
    return { action: form.action ?? '', method: (form.method ?? 'get').toUpperCase(), fields, decisions };
}

function pageText(html) {
    return html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
}

async function main() {
    const start = process.argv[2];
    const username = process.env.VMCP_MATRIX_USER;
    const password = process.env.VMCP_MATRIX_PASSWORD;
    if (!start || !username || !password) throw new Error('usage: VMCP_MATRIX_USER=… VMCP_MATRIX_PASSWORD=… browser.mjs <authorization-url>');
    const origin = new URL(start).origin;
    const jar = new Map(); // name → value: one sign-in talks to one authorization server
    const request = async (method, url, body) => {
        const headers = {};
        if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
        if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
        const res = await fetch(url, { method, headers, body, redirect: 'manual' });
        for (const line of res.headers.getSetCookie()) {
            const [pair, ...attrs] = line.split(';');
            const eq = pair.indexOf('=');
            if (eq <= 0) continue;
            const expired = attrs.some(a => /^\s*max-age\s*=\s*(0|-)/i.test(a));
            if (expired) jar.delete(pair.slice(0, eq).trim());
            else jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
        }
        log(`${method} ${where(url)} → ${res.status}`);
        return res;
    };
    let url = start;
    let res = await request('GET', url);
    let loggedIn = false;
    for (let page = 0; page < MAX_PAGES; page++) {
        if (res.status >= 300 && res.status < 400) {
            const next = new URL(res.headers.get('location'), url).href;
            await res.body?.cancel();
            if (new URL(next).origin !== origin) {
                // The client's redirect URI: load it, as a browser would, to hand over the code.
                const back = await fetch(next);
                log(`GET ${where(next)} → ${back.status}`);
                if (!back.ok) throw new Error(`the client's callback answered HTTP ${back.status}: ${pageText(await back.text())}`);
                return;
            }
            url = next;
            res = await request('GET', url);
            continue;
        }
        const html = await res.text();
        if (res.status !== 200) throw new Error(`HTTP ${res.status} at ${where(url)}: ${pageText(html)}`);
        const form = parseForm(html);
        if (!form) throw new Error(`the page at ${where(url)} has no form to act on: ${pageText(html)}`);
        if (form.fields.has('username') || form.fields.has('password')) {
            if (loggedIn) throw new Error(`the login form came back: ${pageText(html)}`);
            form.fields.set('username', username);
            form.fields.set('password', password);
            loggedIn = true;
        }
        if (form.decisions.length) {
            if (!form.decisions.includes('allow')) throw new Error(`the consent page offers no allow: ${form.decisions}`);
            form.fields.set('decision', 'allow');
        }
        const action = new URL(form.action || url, url);
        if (form.method === 'POST') {
            url = action.href;
            res = await request('POST', url, form.fields.toString());
        } else {
            action.search = form.fields.toString();
            url = action.href;
            res = await request('GET', url);
        }
    }
    throw new Error(`sign-in did not reach the client's redirect URI within ${MAX_PAGES} pages`);
}

main().catch(err => {
    log(err?.message ?? String(err));
    process.exit(1);
});
