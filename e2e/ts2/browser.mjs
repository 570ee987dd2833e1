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

import { alertText, Browser, where } from '../ts/useragent.mjs';

// log goes to stderr and, when VMCP_MATRIX_BROWSER_LOG names a file, to that file too: a client
// that launches the browser usually discards its output.
function log(line) {
    process.stderr.write(`browser: ${line}\n`);
    if (process.env.VMCP_MATRIX_BROWSER_LOG) appendFileSync(process.env.VMCP_MATRIX_BROWSER_LOG, `${line}\n`);
}

async function main() {
    const start = process.argv[2];
    const username = process.env.VMCP_MATRIX_USER;
    const password = process.env.VMCP_MATRIX_PASSWORD;
    if (!start || !username || !password) throw new Error('usage: VMCP_MATRIX_USER=… VMCP_MATRIX_PASSWORD=… browser.mjs <authorization-url>');
    const origin = new URL(start).origin;
    const browser = new Browser(username, password, {
        leaves: next => new URL(next).origin !== origin,
        record: (method, url, status) => log(`${method} ${where(url)} → ${status}`),
    });
    // The client's redirect URI: load it, as a browser would, to hand over the code.
    const next = await browser.run(start);
    const back = await fetch(next);
    log(`GET ${where(next)} → ${back.status}`);
    if (!back.ok) throw new Error(`the client's callback answered HTTP ${back.status}: ${alertText(await back.text())}`);
}

main().catch(err => {
    log(err?.message ?? String(err));
    process.exit(1);
});
