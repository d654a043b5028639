// Browser tests of the dashboard (ctest label `ui`): Debian's chromium driven by
// playwright-core against a `sandboxd serve --kube memory` child. Each scenario saves a
// screenshot under --out (build/ui/). Exit code 0 when every scenario passed.
//
//   node tests/ui/dashboard_test.mjs --binary build/sandboxd --out build/ui
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => {
    if (a.startsWith("--")) pairs.push([a.slice(2), all[i + 1]]);
    return pairs;
  }, []));
const binary = path.resolve(args.binary || "build/sandboxd");
const outDir = path.resolve(args.out || "build/ui");
const browserPath = process.env.SANDBOXD_CHROMIUM || "/usr/bin/chromium";
const XSS = "<img src=x onerror=alert(1)>";

fs.mkdirSync(outDir, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), "sandboxd-ui-"));
fs.writeFileSync(path.join(work, "config.yaml"),
  "server:\n  memoryReadyDelayMs: 300\n  events:\n    heartbeatMs: 1000\n");
const db = path.join(work, "sandboxd.db");

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function token(user) {
  return execFileSync(binary, ["token", "create", "--user", user, "--db", db,
                               "--config", path.join(work, "config.yaml")]).toString().trim();
}

async function waitHealthy(base, child) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error("serve exited with " + child.exitCode);
    try {
      const r = await fetch(base + "/healthz");
      if (r.ok) return;
    } catch (e) { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("serve never became healthy");
}

const results = [];
async function scenario(name, page, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false, error: e.message });
    console.log(`FAIL ${name}: ${e.stack || e.message}`);
  } finally {
    if (page) {
      await page.screenshot({ path: path.join(outDir, `${name}.png`), fullPage: true })
        .catch(() => {});
    }
  }
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const serveLog = fs.openSync(path.join(outDir, "serve.log"), "w");
const child = spawn(binary, ["serve", "--listen", `127.0.0.1:${port}`, "--db", db, "--kube",
                             "memory", "--config", path.join(work, "config.yaml")],
                    { stdio: ["ignore", serveLog, serveLog] });
let browser;
try {
  await waitHealthy(base, child);
  const alice = token("alice");
  const bob = token("bob");
  browser = await chromium.launch({
    executablePath: browserPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });

  const aliceContext = await browser.newContext();
  const page = await aliceContext.newPage();
  const dialogs = [];
  const cspViolations = [];
  page.on("dialog", async (d) => {
    dialogs.push(d.message());
    await d.accept();  // the delete confirmations
  });
  page.on("console", (m) => {
    if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  const row = (name) => page.locator(`#sandboxes tbody tr[data-name="${name}"]`);
  const statusOf = (name) => row(name).locator('[data-field="status"]');
  const waitStatus = async (name, status) => {
    await page.waitForFunction(([n, s]) => {
      const cell = document.querySelector(`#sandboxes tbody tr[data-name="${n}"] [data-field="status"]`);
      return cell && cell.textContent === s;
    }, [name, status], { timeout: 30000 });
  };

  await scenario("01-csp-header", page, async () => {
    const response = await page.goto(base + "/");
    const csp = response.headers()["content-security-policy"] || "";
    check(csp.includes("script-src 'self'"), "CSP without script-src 'self': " + csp);
    check(!csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"), "CSP allows inline: " + csp);
    check(csp.includes("default-src 'none'"), "CSP default-src: " + csp);
    const inline = await page.evaluate(() =>
      [...document.scripts].filter((s) => !s.src).length);
    check(inline === 0, "inline scripts in the page: " + inline);
  });

  await scenario("02-sign-in", page, async () => {
    await page.fill("#token", "wrong-token");
    await page.click("#signin-form button[type=submit]");
    await page.waitForFunction(() => document.querySelector("#signin-error").textContent !== "");
    check((await page.textContent("#signin-error")).includes("unauthenticated"),
          "the 401 envelope is not shown");
    await page.fill("#token", alice);
    await page.click("#signin-form button[type=submit]");
    await page.waitForSelector("#main-view", { state: "visible" });
    await page.waitForSelector("#live.on");
    const stored = await page.evaluate(() => ({
      session: sessionStorage.getItem("sandboxd.token"),
      local: localStorage.length,
      cookies: document.cookie,
      url: location.href,
    }));
    check(stored.session === alice, "token not in sessionStorage");
    check(stored.local === 0 && stored.cookies === "", "token leaked to lasting storage");
    check(!stored.url.includes(alice), "token in the URL");
    await page.evaluate(() => { window.__noReload = true; });
  });

  await scenario("03-create-reaches-running-live", page, async () => {
    await page.fill("#create-form [name=name]", "ui-one");
    await page.fill("#create-form [name=env]", `GREETING=${XSS}\nEDITOR=nano`);
    await page.fill("#create-form [name=secretEnv]", "TOKEN=hidden-secret-value");
    await page.click("#create-form button[type=submit]");
    await row("ui-one").waitFor();
    await waitStatus("ui-one", "RUNNING");
    check(await page.evaluate(() => window.__noReload === true), "the page reloaded");
  });

  await scenario("04-xss-renders-as-text", page, async () => {
    await row("ui-one").locator('[data-action="details"]').click();
    await page.waitForSelector("#detail", { state: "visible" });
    const cells = await page.locator("#env-table tbody td.value").allTextContents();
    check(cells.includes(XSS), "the env value is not shown as text: " + JSON.stringify(cells));
    const imgs = await page.evaluate(() => document.querySelectorAll("img").length);
    check(imgs === 0, "an <img> element was created from user input");
    check(dialogs.length === 0, "a dialog opened: " + dialogs.join(", "));
    const html = await page.content();
    check(!html.includes("hidden-secret-value"), "a secret value is on the page");
  });

  // Stop only for a running or starting sandbox, Start only for a stopped one (DESIGN §3).
  const enabled = async (name) => ({
    stop: await row(name).locator('[data-action="stop"]').isEnabled(),
    start: await row(name).locator('[data-action="start"]').isEnabled(),
  });
  const waitButtons = async (name, stop, start) => {
    await page.waitForFunction(([n, stopOn, startOn]) => {
      const tr = document.querySelector(`#sandboxes tbody tr[data-name="${n}"]`);
      if (!tr) return false;
      return !tr.querySelector('[data-action="stop"]').disabled === stopOn &&
             !tr.querySelector('[data-action="start"]').disabled === startOn;
    }, [name, stop, start], { timeout: 15000 });
  };

  await scenario("05-stop-and-start", page, async () => {
    let b = await enabled("ui-one");
    check(b.stop && !b.start, "RUNNING: stop and start enabled as " + JSON.stringify(b));
    await row("ui-one").locator('[data-action="stop"]').click();
    await waitStatus("ui-one", "STOPPED");
    await waitButtons("ui-one", false, true);
    await page.screenshot({ path: path.join(outDir, "05-stopped-buttons.png"), fullPage: true });
    await row("ui-one").locator('[data-action="start"]').click();
    await waitStatus("ui-one", "RUNNING");
    await waitButtons("ui-one", true, false);
    check(await page.evaluate(() => window.__noReload === true), "the page reloaded");
  });

  await scenario("06-edit-env", page, async () => {
    await page.fill("#env-form [name=set]", "EDITOR=vim");
    await page.fill("#env-form [name=setSecret]", "API_KEY=s3cret-value");
    await page.fill("#env-form [name=unset]", "GREETING");
    await page.click("#env-form button[type=submit]");
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll("#env-table tbody tr")].map(
        (tr) => [...tr.children].map((td) => td.textContent));
      const byName = Object.fromEntries(rows.map((r) => [r[0], r[1]]));
      return byName.EDITOR === "vim" && byName.API_KEY === "(secret, write-only)" &&
             !("GREETING" in byName);
    }, null, { timeout: 15000 });
    check(!(await page.content()).includes("s3cret-value"), "a secret value is on the page");
    // The operation history lists the env update.
    await page.waitForFunction(() => [...document.querySelectorAll("#ops-table tbody tr td")]
      .some((td) => td.textContent === "update_env"), null, { timeout: 15000 });
  });

  await scenario("06b-snapshot-and-restore", page, async () => {
    // A labelled snapshot (the label is user text: shown as text), then a restore of it.
    await page.fill("#snapshot-form [name=label]", XSS);
    await page.click("#snapshot-form button[type=submit]");
    const snapRow = page.locator("#snapshots-table tbody tr").first();
    await snapRow.waitFor({ timeout: 15000 });
    await page.waitForFunction(() => {
      const tr = document.querySelector("#snapshots-table tbody tr");
      return tr && tr.children[2].textContent === "ready";
    }, null, { timeout: 15000 });
    const label = await snapRow.locator("td").nth(1).textContent();
    check(label === XSS, "the label shows as " + label);
    check(await page.locator("#snapshots-table img").count() === 0, "the label became markup");
    const id = await snapRow.getAttribute("data-snapshot");
    const asked = dialogs.length;
    await snapRow.locator('[data-action="restore"]').click();
    check(dialogs.length === asked + 1 && dialogs[asked].includes(id),
          "no confirmation named the snapshot: " + dialogs.slice(asked).join(", "));
    // The restore runs: the operation history lists it done, the pre-restore copy is listed,
    // and the sandbox runs again, all without a reload.
    await page.waitForFunction(() => [...document.querySelectorAll("#ops-table tbody tr")]
      .some((tr) => tr.children[1].textContent === "restore" &&
                    tr.children[2].textContent === "done"), null, { timeout: 30000 });
    await page.waitForFunction(() => [...document.querySelectorAll("#snapshots-table tbody tr")]
      .some((tr) => tr.children[1].textContent === "pre-restore"), null, { timeout: 15000 });
    await waitStatus("ui-one", "RUNNING");
    check(await page.evaluate(() => window.__noReload === true), "the page reloaded");
  });

  await scenario("07-errors-show-the-envelope", page, async () => {
    await page.fill("#create-form [name=name]", "ui-one");
    await page.click("#create-form button[type=submit]");
    await page.waitForFunction(() => document.querySelector("#create-error").textContent !== "");
    const text = await page.textContent("#create-error");
    check(/already_exists|conflict/.test(text), "the 409 envelope is not shown: " + text);
  });

  await scenario("07b-public-ports", page, async () => {
    // A port the operator does not allow public: the 422 shows under the form.
    await page.fill("#create-form [name=name]", "ui-pub");
    await page.fill("#create-form [name=publicPorts]", "ttyd");
    await page.click("#create-form button[type=submit]");
    await page.waitForFunction(() => /invalid|ttyd/.test(
      document.querySelector("#create-error").textContent));
    const text = await page.textContent("#create-error");
    check(text.includes("ttyd"), "the 422 does not name the port: " + text);
    check(await row("ui-pub").count() === 0, "a refused create made a row");
    await page.screenshot({ path: path.join(outDir, "07b-public-ports-422.png"), fullPage: true });
    // An allowed one is kept by the sandbox.
    await page.fill("#create-form [name=publicPorts]", "app");
    await page.click("#create-form button[type=submit]");
    await row("ui-pub").waitFor();
    await page.waitForFunction(() => document.querySelector("#create-error").textContent === "");
    const r = await fetch(base + "/api/v1/sandboxes/ui-pub",
                          { headers: { Authorization: "Bearer " + alice } });
    const made = await r.json();
    check(JSON.stringify(made.publicPorts) === JSON.stringify(["app"]),
          "publicPorts: " + JSON.stringify(made.publicPorts));
    // The row marks the public port's link, and only that one.
    const marker = row("ui-pub").locator(".public-port");
    await marker.first().waitFor();
    check(await marker.count() === 1, "public markers on ui-pub: " + await marker.count());
    const marked = await marker.first().evaluate((n) => n.previousElementSibling.textContent);
    check(marked === "app", "the public marker follows " + marked);
    check(await row("ui-one").locator(".public-port").count() === 0, "ui-one has a public marker");
    // Start is off while it is not stopped.
    check(!(await enabled("ui-pub")).start, "Start enabled on a new sandbox");
  });

  await scenario("08-second-user-sees-none", null, async () => {
    const bobContext = await browser.newContext();
    const bobPage = await bobContext.newPage();
    try {
      await bobPage.goto(base + "/");
      await bobPage.fill("#token", bob);
      await bobPage.click("#signin-form button[type=submit]");
      await bobPage.waitForSelector("#live.on");
      // Alice creates another while bob watches; then bob one of his own.
      const made = await fetch(base + "/api/v1/sandboxes", {
        method: "POST",
        headers: { Authorization: "Bearer " + alice, "Content-Type": "application/json" },
        body: JSON.stringify({ name: "ui-two" }),
      });
      check(made.status === 201, "alice's API create failed: " + made.status);
      await bobPage.fill("#create-form [name=name]", "ui-bob");
      await bobPage.click("#create-form button[type=submit]");
      await bobPage.waitForFunction(() => {
        const cell = document.querySelector('#sandboxes tbody tr[data-name="ui-bob"] [data-field="status"]');
        return cell && cell.textContent === "RUNNING";
      }, null, { timeout: 30000 });
      const names = await bobPage.evaluate(() =>
        [...document.querySelectorAll("#sandboxes tbody tr")].map((tr) => tr.dataset.name));
      check(JSON.stringify(names) === JSON.stringify(["ui-bob"]),
            "bob sees: " + JSON.stringify(names));
      check(!(await bobPage.content()).includes("ui-one"), "alice's sandbox name on bob's page");
      await bobPage.screenshot({ path: path.join(outDir, "08-second-user-sees-none.png"),
                                 fullPage: true });
    } finally {
      await bobContext.close();
    }
  });

  await scenario("09-delete", page, async () => {
    await row("ui-two").waitFor();  // alice's page got it live
    await row("ui-one").locator('[data-action="purge"]').click();
    await row("ui-one").waitFor({ state: "detached", timeout: 30000 });
    check(await page.isHidden("#detail"), "the purged sandbox's detail panel stayed open");
    check(dialogs.some((m) => m.includes("ui-one")), "no confirmation was asked");
    check(await page.evaluate(() => window.__noReload === true), "the page reloaded");
    check(cspViolations.length === 0, "CSP violations: " + cspViolations.join("; "));
  });
} catch (e) {
  results.push({ name: "setup", ok: false, error: e.message });
  console.log("FAIL setup: " + (e.stack || e.message));
} finally {
  if (browser) await browser.close().catch(() => {});
  child.kill("SIGTERM");
  await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
  fs.rmSync(work, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok);
console.log(`${results.length - failed.length} passed, ${failed.length} failed; screenshots in ${outDir}`);
process.exit(failed.length === 0 && results.length > 0 ? 0 : 1);
