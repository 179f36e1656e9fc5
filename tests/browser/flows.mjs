// Real-browser end-to-end check in headless Chromium (Debian's chromium, playwright-core):
// a resident files a tip with an attachment, reads the receipt and checks the status; a staff
// member logs in with password and TOTP, opens the tip and moves it on. axe-core checks every
// page visited (WCAG 2.1 A/AA) at phone and desktop width, in both languages for public pages.
// Usage: node flows.mjs BASE_URL USERNAME PASSWORD SHOTS_DIR
// Exits non-zero on any axe violation or failed step.
import { chromium } from 'playwright-core';
import { createRequire } from 'module';
import crypto from 'crypto';
import fs from 'fs';

const [BASE, USER, PASS, SHOTS] = process.argv.slice(2);
const axeSrc = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PHONE = { width: 375, height: 812 }, DESK = { width: 1280, height: 900 };
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
let failures = 0;
const fail = (msg) => { failures++; console.log(`FAIL ${msg}`); };

async function audit(page, name) {
  for (const [label, size] of [['desktop', DESK], ['phone', PHONE]]) {
    await page.setViewportSize(size);
    // The site's CSP forbids injected script tags; evaluate axe's source instead.
    if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(axeSrc + '\n;0');
    const r = await page.evaluate(() => axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }));
    for (const v of r.violations) fail(`${name} ${label}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map(n => n.html).join(' | ').slice(0, 300)}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 1) fail(`${name} ${label}: page is ${overflow}px wider than the screen`);
    if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}-${label}.png`, fullPage: true });
  }
  console.log(`ok ${name}`);
}

async function submit(page) {
  const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator('main form button[type=submit]').last().click()]);
  return resp?.status();
}

function totp(uri, at = Date.now()) {
  const secret = new URL(uri.replace(/&amp;/g, '&')).searchParams.get('secret');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map(b => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30000)));
  const h = crypto.createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// --- resident, with JavaScript disabled: the public site must work without it --------------
// axe needs script, so each page the resident sees is audited as a copy in a second page.
const auditor = await (await browser.newContext()).newPage();
async function auditCopy(page, name) {
  const html = await page.content();
  await auditor.goto(`${BASE}/status`);
  await auditor.setContent(html, { waitUntil: 'load' });
  await audit(auditor, name);
}
const resident = await browser.newContext({ javaScriptEnabled: false });
const page = await resident.newPage();
let receipt = '';
for (const lang of ['zh', 'en']) {
  await page.goto(`${BASE}/?lang=${lang}`);
  await auditCopy(page, `form-${lang}`);
  // Errors first: nothing chosen.
  await page.fill('#description', lang === 'zh' ? '有人在网吧贩卖毒品' : 'Someone sells drugs at the internet cafe');
  if ((await submit(page)) !== 422) fail(`form-${lang}: an incomplete form should answer 422`);
  await auditCopy(page, `form-errors-${lang}`);
  await page.selectOption('#category', 'venues');
  await page.selectOption('#township', 'xidu');
  await page.setInputFiles('#attachment', { name: 'note.txt', mimeType: 'text/plain', buffer: Buffer.from('附件：交易时间是晚上九点') });
  if ((await submit(page)) !== 200) fail(`form-${lang}: submission failed`);
  receipt = (await page.textContent('#receipt'))?.trim() ?? '';
  if (!/^\d{4}(-\d{4}){4}$/.test(receipt)) fail(`receipt-${lang}: no receipt shown (${receipt})`);
  await auditCopy(page, `receipt-${lang}`);
  await page.goto(`${BASE}/status?lang=${lang}`);
  await auditCopy(page, `status-${lang}`);
  await page.fill('#receipt', receipt.replace(/-/g, ' '));
  if ((await submit(page)) !== 200) fail(`status-${lang}: the receipt did not resolve`);
  await auditCopy(page, `status-found-${lang}`);
}
await resident.close();

// --- staff: password, TOTP enrolment from the QR page, queue, tip, transition ----------------
const staff = await (await browser.newContext()).newPage();
await staff.goto(`${BASE}/staff/login`);
await audit(staff, 'staff-login');
await staff.fill('#username', USER);
await staff.fill('#password', PASS);
await submit(staff);
if (!staff.url().endsWith('/staff/totp')) fail(`staff: password step went to ${staff.url()}`);
await audit(staff, 'staff-totp-enrol');
const uri = (await staff.textContent('code.otpauth'))?.trim() ?? '';
await staff.fill('#code', totp(uri));
await submit(staff);
if (!staff.url().endsWith('/staff/tips')) fail(`staff: TOTP step went to ${staff.url()}`);
await audit(staff, 'staff-queue');
await Promise.all([staff.waitForNavigation(), staff.locator('table a').first().click()]);
if (!(await staff.content()).includes('附件')) fail('staff: the opened tip does not show its attachment');
await audit(staff, 'staff-tip');
await staff.selectOption('#to', 'triaging');
await Promise.all([staff.waitForNavigation(), staff.locator('form[action$="/transition"] button').click()]);
if (!(await staff.content()).includes('初查中')) fail('staff: the transition did not show');
await staff.goto(`${BASE}/staff/tips/new`);
await audit(staff, 'staff-new-tip');

await browser.close();
console.log(failures ? `${failures} browser check(s) failed` : 'browser checks passed');
process.exit(failures ? 1 : 0);
