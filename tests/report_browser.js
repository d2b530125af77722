// report_browser.js - load a `ringprof report` page in headless Chromium,
// driven through the DevTools protocol over --remote-debugging-pipe (no
// module beyond node itself), and print what a test checks as one JSON
// object: console errors and exceptions, every URL the page asked for, the
// item rows as shown, then as shown after real mouse clicks on column
// headers.
//
//   node report_browser.js CHROMIUM PAGE.html SCREENSHOT.png PROFILE_DIR
//
// Exit status 0 when the page could be driven (the caller judges the
// result), 1 with a message on stderr otherwise.  Gives up after 90 s.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");

const [chromium, page, shot, profile] = process.argv.slice(2);
if (!profile) {
  process.stderr.write("usage: node report_browser.js CHROMIUM PAGE SCREENSHOT PROFILE_DIR\n");
  process.exit(1);
}

const browser = spawn(chromium, [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-dev-shm-usage", "--remote-debugging-pipe", "--user-data-dir=" + profile,
  "--window-size=1400,900", "about:blank",
], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
let stderr = "";
browser.stderr.on("data", d => { stderr += d; });

function fail(msg) {
  process.stderr.write("report_browser: " + msg + "\n");
  if (stderr)
    process.stderr.write("chromium said:\n" + stderr.slice(-2000));
  browser.kill("SIGKILL");
  process.exit(1);
}
const timer = setTimeout(() => fail("timed out after 90 s"), 90000);
browser.on("error", e => fail("cannot start " + chromium + ": " + e.message));
browser.on("exit", (code, sig) => { if (!done) fail("chromium exited early: " + (sig || code)); });

// The pipe protocol: JSON messages, each ended by a NUL byte.
const toBrowser = browser.stdio[3], fromBrowser = browser.stdio[4];
let nextId = 1, inbuf = Buffer.alloc(0), done = false;
const pending = new Map(), listeners = [];
fromBrowser.on("data", chunk => {
  inbuf = Buffer.concat([inbuf, chunk]);
  let end;
  while ((end = inbuf.indexOf(0)) >= 0) {
    const msg = JSON.parse(inbuf.subarray(0, end).toString("utf8"));
    inbuf = inbuf.subarray(end + 1);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject, method } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error)
        reject(new Error(method + ": " + msg.error.message));
      else
        resolve(msg.result);
    } else if (msg.method) {
      for (const l of listeners.slice())
        l(msg);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId)
    msg.sessionId = sessionId;
  toBrowser.write(JSON.stringify(msg) + "\0");
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject, method }));
}
function once(method) {
  return new Promise(resolve => {
    const l = msg => {
      if (msg.method === method) {
        listeners.splice(listeners.indexOf(l), 1);
        resolve(msg.params);
      }
    };
    listeners.push(l);
  });
}

async function main() {
  const errors = [], requests = [];
  listeners.push(msg => {
    const p = msg.params;
    if (msg.method === "Runtime.consoleAPICalled" && (p.type === "error" || p.type === "warning"))
      errors.push("console." + p.type + ": " + p.args.map(a => a.value ?? a.description).join(" "));
    else if (msg.method === "Runtime.exceptionThrown")
      errors.push("exception: " + (p.exceptionDetails.exception?.description ?? p.exceptionDetails.text));
    else if (msg.method === "Log.entryAdded" && p.entry.level === "error")
      errors.push("log: " + p.entry.text);
    else if (msg.method === "Network.requestWillBeSent")
      requests.push(p.request.url.startsWith("file:") ? "file:" + path.basename(p.request.url)
                                                      : p.request.url);
  });
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  const s = (m, p) => send(m, p, sessionId);
  await s("Runtime.enable");
  await s("Log.enable");
  await s("Network.enable");
  await s("Page.enable");
  const loaded = once("Page.loadEventFired");
  await s("Page.navigate", { url: "file://" + path.resolve(page) });
  await loaded;

  const evaluate = async expr => {
    const r = await s("Runtime.evaluate", { expression: expr, returnByValue: true });
    if (r.exceptionDetails)
      throw new Error("evaluate " + expr + ": " + r.exceptionDetails.text);
    return r.result.value;
  };
  const rows = () => evaluate(`[...document.querySelectorAll("#items tbody tr")]
      .map(tr => [...tr.cells].map(td => td.textContent).join("|"))`);
  const click = async (selector) => {
    const box = await evaluate(`(() => { const e = document.querySelector(${JSON.stringify(selector)});
      e.scrollIntoView(); const r = e.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`);
    for (const type of ["mouseMoved", "mousePressed", "mouseReleased"])
      await s("Input.dispatchMouseEvent", { type, x: box.x, y: box.y, button: "left", clickCount: 1 });
  };

  const result = {};
  result.title = await evaluate("document.title");
  result.heads = await evaluate(`[...document.querySelectorAll("#items thead th")].map(th => th.textContent)`);
  result.rows = await rows();
  result.total = await evaluate(`[...document.querySelectorAll("#items tfoot td")].map(td => td.textContent).join("|")`);
  await click('#items th[data-key="item"]');
  result.by_item = (await rows()).map(r => r.split("|")[0]);
  await click('#items th[data-key="item"]');
  result.by_item_reversed = (await rows()).map(r => r.split("|")[0]);
  await click('#items th[data-key="self_new"]');
  result.by_self_new = (await rows()).map(r => r.split("|")[0] + "=" + r.split("|")[2]);
  result.processes = await evaluate(`[...document.querySelectorAll("#procs tbody tr")].map(tr => tr.cells[0].textContent + "|" + tr.cells[4].textContent)`);
  await click('#procs tbody tr[data-process="2"]');
  result.cc1_rows = await rows();
  result.cc1_scope = await evaluate(`document.getElementById("scope").textContent`);
  const png = await s("Page.captureScreenshot", { format: "png", captureBeyondViewport: true });
  fs.writeFileSync(shot, Buffer.from(png.data, "base64"));
  result.errors = errors;
  result.requests = requests;
  done = true;
  await send("Browser.close").catch(() => {});
  clearTimeout(timer);
  process.stdout.write(JSON.stringify(result, null, 1) + "\n");
  setTimeout(() => { browser.kill("SIGKILL"); process.exit(0); }, 2000).unref();
  browser.on("exit", () => process.exit(0));
}

main().catch(e => fail(e.stack || String(e)));
