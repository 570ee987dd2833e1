// Drives vmcp's web console in headless Chromium (Debian's chromium, driven by playwright-core)
// as people would: an anonymous visitor, a user, and an administrator. It takes a screenshot of
// every page into SHOTS and prints one JSON object of what it saw; the Go test (e2e/console_test.go)
// decides whether that is right.
//
// Environment: BASE (the edge URL), SHOTS (a directory), CHROMIUM (the browser binary),
// USER_CREDS and ADMIN_CREDS ("name:password"), VS (the virtual server to inspect), GROUPS (the groups to view its
// tools as), TRIGGER (a URL that makes a denied call; fetched while the audit page is open).
import { chromium } from "playwright-core";
import path from "node:path";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const BASE = env("BASE"), SHOTS = env("SHOTS"), VS = env("VS"), GROUPS = env("GROUPS"), TRIGGER = env("TRIGGER");
const [userName, userPass] = env("USER_CREDS").split(":");
const [adminName, adminPass] = env("ADMIN_CREDS").split(":");

const out = { screenshots: [] };
const shot = async (page, name) => {
  const file = path.join(SHOTS, name + ".png");
  await page.screenshot({ path: file, fullPage: true });
  out.screenshots.push(file);
};
const text = (page, sel) => page.locator(sel).allInnerTexts();

// signIn fills vmcp's dev sign-in form the console sent the browser to.
async function signIn(page, user, pass) {
  await page.waitForSelector('input[name="password"]');
  await page.fill('input[name="username"]', user);
  await page.fill('input[name="password"]', pass);
  await Promise.all([page.waitForLoadState("load"), page.click('button[type="submit"], input[type="submit"]')]);
  await page.waitForURL(/\/console\//);
}

const browser = await chromium.launch({ executablePath: env("CHROMIUM"), headless: true, args: ["--no-sandbox"] });
try {
  // 1. Anonymous: an admin page asks for sign-in.
  const anon = await browser.newContext();
  let page = await anon.newPage();
  await page.goto(BASE + "/console/audit");
  out.anonymous = { url: page.url(), hasPassword: await page.locator('input[name="password"]').count() > 0 };
  await shot(page, "01-sign-in");
  await anon.close();

  // 2. A user who is not an admin: admin pages refused, own connections shown.
  const userCtx = await browser.newContext();
  page = await userCtx.newPage();
  await page.goto(BASE + "/console/servers");
  await signIn(page, userName, userPass);
  out.user = { landed: new URL(page.url()).pathname, heading: await page.locator("h1").innerText() };
  const usage = await page.goto(BASE + "/console/usage");
  out.user.usageStatus = usage.status();
  out.user.usageHeading = await page.locator("h1").innerText();
  out.user.navLinks = await text(page, "header nav a");
  await shot(page, "02-user-admin-page-refused");
  await page.goto(BASE + "/console/connections");
  out.user.connections = await page.locator("main").innerText();
  await shot(page, "03-user-my-connections");
  await userCtx.close();

  // 3. An administrator.
  const adminCtx = await browser.newContext();
  page = await adminCtx.newPage();
  await page.goto(BASE + `/console/servers?vs=${encodeURIComponent(VS)}&user=viewer&groups=${encodeURIComponent(GROUPS)}`);
  await signIn(page, adminName, adminPass);
  const detail = page.locator('[data-testid="server-detail"]');
  out.servers = {
    url: await detail.locator('[data-testid="server-url"]').innerText(),
    snippets: await detail.locator(".snippets pre").allInnerTexts(),
    tools: await page.locator("[data-tool]").evaluateAll((rows) => rows.map((r) => r.dataset.tool)),
    toolsUnavailable: await page.locator('[data-testid="tools-unavailable"]').count() > 0,
    hidden: await text(page, '[data-testid="hidden-tool"]'),
    detail: await detail.innerText(),
  };
  // The copy button copies the URL. It says so once the clipboard write resolves (asynchronous
  // on a secure origin such as 127.0.0.1, which has the clipboard API), and for 1.5 s: wait for
  // it rather than read the label at once, which raced the write.
  await adminCtx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
  const copy = detail.locator("p button.copy").first();
  await copy.click();
  out.servers.copyButton = await copy.filter({ hasText: "Copied" }).waitFor({ timeout: 5000 })
    .then(() => "Copied", async () => copy.innerText());
  await shot(page, "04-admin-virtual-servers");

  await page.goto(BASE + "/console/connectors");
  out.connectors = await page.locator('[data-testid="connectors"] tbody tr').evaluateAll((rows) =>
    rows.map((r) => Array.from(r.querySelectorAll("td")).map((td) => td.innerText.trim())));
  await shot(page, "05-admin-connectors");

  // The audit view with its live tail on: a denied call made now must appear without a reload.
  await page.goto(BASE + "/console/audit?outcome=denied");
  const rowsFor = (target) => page.locator("#audit-rows tr[data-id] code", { hasText: target }).count();
  const trig = await fetch(TRIGGER + "?phase=target");
  const target = (await trig.text()).trim();
  const before = await rowsFor(target);
  const made = await fetch(TRIGGER);
  if (!made.ok) throw new Error(`trigger: HTTP ${made.status}: ${await made.text()}`);
  // No reload: only the page's own polling can bring the new row in.
  await page.waitForFunction(([t, n]) => Array.from(document.querySelectorAll("#audit-rows tr[data-id] code"))
    .filter((c) => c.textContent === t).length > n, [target, before], { timeout: 20000 });
  out.audit = {
    before,
    rows: await page.locator("#audit-rows tr[data-id]").evaluateAll((rows) =>
      rows.map((r) => Array.from(r.querySelectorAll("td")).map((td) => td.innerText.trim()))),
    reloaded: false,
  };
  await shot(page, "06-admin-audit-live-tail");

  await page.goto(BASE + "/console/usage?by=tool");
  out.usage = {
    totals: await page.locator('[data-testid="usage-totals"]').innerText(),
    bars: await page.locator("svg.chart rect").count(),
    deniedBars: await page.locator("svg.chart rect.denied").count(),
    labels: await page.locator('[data-testid="chart-calls"] text').evaluateAll((ts) => ts.map((t) => t.textContent)),
  };
  await shot(page, "07-admin-usage");

  await page.goto(BASE + "/console/propose");
  await page.selectOption('select[name="vs"]', VS);
  await page.fill('input[name="connector"]', "notes");
  await page.fill('input[name="tool"]', "list_notes");
  await page.selectOption('select[name="action"]', "hide");
  await Promise.all([page.waitForLoadState("load"), page.click('[data-testid="propose-form"] button[type="submit"]')]);
  out.propose = {
    valid: await page.locator('[data-testid="propose-valid"]').count() > 0,
    diff: await page.locator('[data-testid="propose-diff"]').innerText().catch(() => ""),
    problems: await page.locator('[data-testid="propose-problems"]').innerText().catch(() => ""),
  };
  await shot(page, "08-admin-propose-change");

  await Promise.all([page.waitForLoadState("load"), page.click("form.signout button")]);
  out.signedOut = await page.locator("h1").innerText();
  await page.goto(BASE + "/console/servers");
  out.afterSignOut = { hasPassword: await page.locator('input[name="password"]').count() > 0 };
  await adminCtx.close();
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
