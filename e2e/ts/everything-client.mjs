// An MCP client on the official TypeScript SDK that exercises server-everything the way an
// assistant would: tool calls with elicitation and sampling answered mid-call, progress, a
// resource read and a prompt. The Go test runs it against server-everything directly and
// through a virtual server and compares what it prints.
//
//	node everything-client.mjs <mcp-url> [bearer-token-file]
//
// The token, when given, is read from a file so it never appears in a process listing. On
// success it prints one JSON line to stdout; on failure it exits non-zero with the reason.

import { readFileSync } from 'node:fs';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const [url, tokenFile] = process.argv.slice(2);
const headers = {};
if (tokenFile) {
    headers.Authorization = `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`;
}

// Clock times in dynamic resources differ between two runs a moment apart.
const masked = (v) => JSON.parse(JSON.stringify(v).replace(/\d{1,2}:\d{2}:\d{2}\s?[AP]M/g, '<time>'));

const client = new Client({ name: 'e2e-ts-everything', version: '1' }, { capabilities: { elicitation: {}, sampling: {} } });
client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { color: 'green', number: 3, pets: 'dogs' } }));
client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: 'assistant', model: 'e2e', content: { type: 'text', text: 'sampled by the TypeScript client' },
}));

try {
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
    const out = { tools: (await client.listTools()).tools.map((t) => t.name).sort(), calls: {} };
    for (const [name, args] of [
        ['echo', { message: 'from TypeScript' }],
        ['get-sum', { a: 20, b: 22 }],
        ['get-structured-content', { location: 'Los Angeles' }],
        ['trigger-elicitation-request', {}],
        ['trigger-sampling-request', { prompt: 'hi', maxTokens: 5 }],
    ]) {
        out.calls[name] = masked(await client.callTool({ name, arguments: args }));
    }
    let progress = 0;
    await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } }, undefined, {
        onprogress: () => { progress++; },
    });
    out.progressSeen = progress > 0;
    const resources = (await client.listResources()).resources;
    out.read = masked(await client.readResource({ uri: resources[0].uri }));
    await client.close();
    console.log(JSON.stringify(out));
} catch (err) {
    console.error(`everything-client: ${err?.message ?? err}`);
    process.exit(1);
}
