// The matrix row of the TypeScript SDK v2 (@modelcontextprotocol/client, pinned in
// package-lock.json):
//
//	node sdk-client.mjs <virtual-server-url> <auto|legacy> <token-file>
//
// `auto` probes server/discover and speaks 2026-07-28 with a server that offers it; `legacy`
// (the SDK's default) runs the 2025-11-25 initialize handshake. The token is a `vmcp token`
// bearer. See matrix.mjs for the output.

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

import { Steps, describe, listening, readToken, runSteps } from './matrix.mjs';

const CLIENT = 'ts-sdk-v2';

async function main() {
    const [url, mode, tokenFile] = process.argv.slice(2);
    const steps = new Steps();
    let changed;
    const changedOnce = new Promise(resolve => (changed = resolve));
    const client = new Client(
        { name: 'vmcp-matrix-ts-v2', version: '1.0.0' },
        {
            versionNegotiation: { mode },
            listChanged: { tools: { autoRefresh: false, debounceMs: 0, onChanged: () => changed() } },
        },
    );
    const transport = new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { Authorization: `Bearer ${readToken(tokenFile)}` } },
    });
    try {
        await client.connect(transport);
    } catch (err) {
        steps.fail('connect', err);
        return steps.print();
    }
    await steps.run('connect', async () => ({ protocolVersion: client.getNegotiatedProtocolVersion() }));
    await runSteps(steps, client, CLIENT, async () => {
        if (client.getProtocolEra() === 'modern') {
            // 2026-07-28: notifications come only on a subscriptions/listen stream; listen()
            // resolves once the server acknowledged it.
            await client.listen({ toolsListChanged: true });
        }
        listening();
        await changedOnce;
        return (await client.listTools()).tools.map(t => t.name);
    });
    try {
        await client.close();
    } catch (err) {
        process.stderr.write(`close: ${describe(err)}\n`);
    }
    return steps.print();
}

main().then(
    code => process.exit(code),
    err => {
        process.stderr.write(`${err?.stack ?? err}\n`);
        process.exit(2);
    },
);
