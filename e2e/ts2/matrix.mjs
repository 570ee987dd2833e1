// What every Node client of the matrix shares: the steps it runs and how it reports them.
//
// A script runs each capability as a step and records its value or its error, so one failing
// capability does not hide the others; it prints {"event":"listening"} when it waits for a
// tools list change (the Go test then edits vmcp's configuration), and finally one line
// {"steps": {...}}. The Go test (e2e/matrix_test.go) asserts on that.

import { readFileSync } from 'node:fs';

// The list change the Go test makes must reach the client within this time.
export const LIST_CHANGED_WAIT_MS = 30_000;

export function noteTitle(client) {
    return `matrix note from ${client}`;
}

export class Steps {
    constructor() {
        this.steps = {};
    }

    async run(name, fn) {
        try {
            const value = await fn();
            this.steps[name] = { ok: true, value };
            return value;
        } catch (err) {
            process.stderr.write(`step ${name} failed: ${err?.stack ?? err}\n`);
            this.steps[name] = { ok: false, error: describe(err) };
            return undefined;
        }
    }

    fail(name, err) {
        this.steps[name] = { ok: false, error: describe(err) };
    }

    print() {
        process.stdout.write(JSON.stringify({ steps: this.steps }) + '\n');
        return Object.values(this.steps).every(s => s.ok) ? 0 : 1;
    }
}

// describe is an error in one line, with the MCP error code and data where there are some.
export function describe(err) {
    let text = `${err?.name ?? 'Error'}: ${err?.message ?? String(err)}`;
    if (err?.code !== undefined) text += ` (code ${err.code})`;
    if (err?.data !== undefined) text += ` ${JSON.stringify(err.data)}`;
    if (err?.cause) text += ` cause: ${err.cause?.message ?? err.cause}`;
    return text.replace(/\s+/g, ' ').slice(0, 600);
}

export function listening() {
    process.stdout.write(JSON.stringify({ event: 'listening' }) + '\n');
}

export function textOf(content) {
    return (content ?? []).filter(c => c.type === 'text').map(c => c.text).join('\n');
}

export function readToken(path) {
    return readFileSync(path, 'utf8').trim();
}

// within rejects if promise has not settled within ms.
export function within(ms, promise, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms / 1000}s`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// runSteps runs the matrix's capabilities with an SDK-shaped client (listTools, callTool, ...);
// waitListChanged, when given, resolves with the tool names listed after a tools list change.
export async function runSteps(steps, client, clientName, waitListChanged) {
    const tools = async () => (await client.listTools()).tools.map(t => t.name);
    await steps.run('tools', tools);
    await steps.run('resources', async () => (await client.listResources()).resources.map(r => r.uri));
    await steps.run('prompts', async () => (await client.listPrompts()).prompts.map(p => p.name));
    const call = async (name, args) => {
        const res = await client.callTool({ name, arguments: args });
        if (res.isError) throw new Error(`${name} returned an error: ${textOf(res.content)}`);
        return textOf(res.content);
    };
    await steps.run('call_notes', () => call('notes__add_note', { title: noteTitle(clientName), body: 'through vmcp' }));
    await steps.run('call_weather', () => call('weather__get_forecast', { city: 'Oslo', days: 1 }));
    await steps.run('read', async () => (await client.readResource({ uri: 'notes://all' })).contents.map(c => c.text ?? '').join('\n'));
    await steps.run('prompt', async () => {
        const res = await client.getPrompt({ name: 'notes__summarize_notes', arguments: { focus: 'interop' } });
        return res.messages.map(m => (m.content?.type === 'text' ? m.content.text : '')).join('\n');
    });
    if (waitListChanged) {
        await steps.run('list_changed', () => within(LIST_CHANGED_WAIT_MS, waitListChanged(), 'a tools list_changed notification'));
    }
}
