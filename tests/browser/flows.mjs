// Real-browser end-to-end check in headless Chromium (Debian's chromium, playwright-core).
// The resident, with JavaScript off, files tips with an attachment, reads the receipt, checks the
// status, reads the police's question and answers it with the keyboard alone, reads a reward's
// claim code, and exchanges a receipt a hotline clerk read out. Staff log in with password and
// TOTP: the officer triages and verifies a tip, writes to the reporter and proposes a reward
// (suggest, then propose); the unit head and finance sign; finance pays one reward in cash and
// one by transfer (then confirms it) and reads the ledger; the admin opens the policy pages and
// the monthly report (charts, tables, CSV and XLSX); the unit head reads the unit's report.
// The officer sees the resident's photo on the tip page and opens it, finds the tip by a phone
// number written another way, assigns it to themself and filters the queue to "assigned to me".
// axe-core checks every page state visited (WCAG 2.1 A/AA) at phone and desktop width, in both
// languages for public pages; no page may be wider than the phone, nor text spill out of its box.
// The admin creates a reader account; it waits until a county supervisor approves it.
// The captcha paths run against a second server with captchas on (CAPTCHA_BASE, its keys dir
// and an officer there): a new captcha keeps what was typed, a wrong captcha with a photo keeps
// text and photo and the corrected form files the tip with it, and reloads store nothing twice.
// The walk solves each captcha as the operator can, from the keys dir the script made (the id
// is sealed under a subkey of the token pepper); the product has no way to reveal an answer.
// A township's liaison files the monthly return with a photo and a PDF scan; the county sees it on
// the returns page, opens the people table and sends it back; the liaison reads the comment.
// Usage: node flows.mjs BASE_URL OFFICER PASSWORD SHOTS_DIR HEAD FINANCE ADMIN COUNTY LIAISON
//        [CAPTCHA_BASE CAPTCHA_KEYS_DIR CAPTCHA_OFFICER]
// (HEAD: a supervisor of the officer's unit; COUNTY: a county-wide supervisor; all share the
// password.)
// Exits non-zero on any axe violation or failed step.
import { chromium } from 'playwright-core';
import { createRequire } from 'module';
import crypto from 'crypto';
import fs from 'fs';
import zlib from 'zlib';

const [BASE, USER, PASS, SHOTS, HEAD, FINANCE, ADMIN, COUNTY, LIAISON, CBASE, CKEYS, CUSER] = process.argv.slice(2);
const axeSrc = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// Phones from 320 px (the narrowest in use) to 360 px (the most common): text must wrap at both.
const PHONE = { width: 360, height: 640 }, NARROW = { width: 320, height: 568 }, DESK = { width: 1280, height: 900 };
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         // A reload of a page a form answered sends the form again, as a resident's does once they
         // confirm; the walk checks that nothing is stored twice.
         '--disable-prompt-on-repost'] });
let failures = 0;
const fail = (msg) => { failures++; console.log(`FAIL ${msg}`); };
const expect = (ok, msg) => { if (!ok) fail(msg); };

async function audit(page, name) {
  for (const [label, size] of [['desktop', DESK], ['narrow', NARROW], ['phone', PHONE]]) {
    await page.setViewportSize(size);
    // The site's CSP forbids injected script tags; evaluate axe's source instead.
    if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(axeSrc + '\n;0');
    const r = await page.evaluate(() => axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }));
    for (const v of r.violations) fail(`${name} ${label}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map(n => n.html).join(' | ').slice(0, 300)}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 1) fail(`${name} ${label}: page is ${overflow}px wider than the screen`);
    // Text running out of its own box (a claim code past its border) leaves the page's width alone.
    const spills = await page.evaluate(() => [...document.querySelectorAll('body *')].filter(e => {
      const s = getComputedStyle(e);
      return e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1 && s.overflowX === 'visible' && !e.matches('select, textarea, input');
    }).map(e => e.outerHTML.slice(0, 120)));
    for (const e of spills) fail(`${name} ${label}: content spills out of ${e}`);
    // Chromium trims a line-final full-width "）" to keep a line whole, and 148 then counts the
    // untrimmed width: a heading that exactly fits spills by half a glyph there (issue 21), and
    // not in later builds. The stylesheet turns the trimming off; a page that loses it fails here.
    const trim = await page.evaluate(() => getComputedStyle(document.body).textSpacingTrim);
    if (trim !== undefined && trim !== 'space-all') fail(`${name} ${label}: text-spacing-trim is ${trim}, not space-all`);
    if (SHOTS && label !== 'narrow') await page.screenshot({ path: `${SHOTS}/${name}-${label}.png`, fullPage: true });
  }
  console.log(`ok ${name}`);
}

// Clicks what `selector` finds (the last match) and waits for the next page; its HTTP status.
async function click(page, selector) {
  const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator(selector).last().click()]);
  return resp?.status();
}
const submit = (page) => click(page, 'main form button[type=submit]');
const has = async (page, text) => (await page.content()).includes(text);

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
async function auditCopy(page, name, base = BASE) {
  const html = await page.content();
  await auditor.goto(`${base}/status`);
  await auditor.setContent(html, { waitUntil: 'load' });
  await audit(auditor, name);
}
const resident = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
const DESCRIPTION = { zh: '有人在网吧贩卖毒品，电话 138 0013 8000', en: 'Someone sells drugs at the internet cafe' };
// A small photo made here (a PNG gradient), so the walk needs no image file.
function photoPng(w = 160, h = 120) {
  const table = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = table[(c ^ b) & 255] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4); sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const o = y * (w * 3 + 1) + 1 + x * 3;
    raw[o] = Math.floor(x * 255 / w); raw[o + 1] = Math.floor(y * 255 / h); raw[o + 2] = 120;
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
const receipts = {};
// The status page for a receipt (typed with spaces, as people do), audited as `name` if given.
async function status(lang, receipt, name, want = 200) {
  await resident.goto(`${BASE}/status?lang=${lang}`);
  await resident.fill('#receipt', receipt.replace(/-/g, ' '));
  const code = await click(resident, 'form[action^="/status?"] button');
  expect(code === want, `${name ?? 'status'}-${lang}: the receipt answered ${code}, not ${want}`);
  if (name) await auditCopy(resident, name);
}
for (const lang of ['zh', 'en']) {
  await resident.goto(`${BASE}/?lang=${lang}`);
  await auditCopy(resident, `form-${lang}`);
  // Errors first: nothing chosen.
  await resident.fill('#description', DESCRIPTION[lang]);
  expect((await submit(resident)) === 422, `form-${lang}: an incomplete form should answer 422`);
  await auditCopy(resident, `form-errors-${lang}`);
  await resident.selectOption('#category', 'venues');
  await resident.selectOption('#township', 'xidu');
  const note = { name: 'note.txt', mimeType: 'text/plain', buffer: Buffer.from('附件：交易时间是晚上九点') };
  await resident.setInputFiles('#attachment', lang === 'zh' ? [note, { name: 'IMG_0001.png', mimeType: 'image/png', buffer: photoPng() }] : note);
  expect((await submit(resident)) === 200, `form-${lang}: submission failed`);
  receipts[lang] = (await resident.textContent('#receipt'))?.trim() ?? '';
  expect(/^\d{4}(-\d{4}){4}$/.test(receipts[lang]), `receipt-${lang}: no receipt shown (${receipts[lang]})`);
  await auditCopy(resident, `receipt-${lang}`);
  // Reloading the receipt page sends the form and its file again: the same receipt page.
  const reloaded = await resident.reload({ waitUntil: 'load' });
  expect(reloaded?.status() === 200 && (await resident.textContent('#receipt'))?.trim() === receipts[lang],
    `receipt-${lang}: a reload answered ${reloaded?.status()} without the same receipt`);
  await auditCopy(resident, `receipt-reloaded-${lang}`);
  await resident.goto(`${BASE}/status?lang=${lang}`);
  await auditCopy(resident, `status-${lang}`);
  await status(lang, receipts[lang], `status-found-${lang}`);
}

// --- staff: password, then TOTP enrolment from the QR page --------------------------------
async function signIn(user, audited = false, base = BASE) {
  const p = await (await browser.newContext()).newPage();
  await p.goto(`${base}/staff/login`);
  if (audited) await audit(p, 'staff-login');
  await p.fill('#username', user);
  await p.fill('#password', PASS);
  await submit(p);
  expect(p.url().endsWith('/staff/totp'), `${user}: password step went to ${p.url()}`);
  if (audited) await audit(p, 'staff-totp-enrol');
  const uri = (await p.textContent('code.otpauth'))?.trim() ?? '';
  await p.fill('#code', totp(uri));
  await submit(p);
  expect(!p.url().endsWith('/staff/totp') && !p.url().endsWith('/staff/login'), `${user}: TOTP step stayed at ${p.url()}`);
  return p;
}
const officer = await signIn(USER, true);
expect(officer.url().endsWith('/staff/tips'), `officer: TOTP step went to ${officer.url()}`);
await audit(officer, 'staff-queue');
// Which queue entry is which resident tip: by its description.
const tipOf = {};
for (const href of await officer.locator('table a[href^="/staff/tips/"]').evaluateAll(as => as.map(a => a.getAttribute('href')))) {
  await officer.goto(`${BASE}${href}`);
  for (const lang of ['zh', 'en']) if (await has(officer, DESCRIPTION[lang])) tipOf[lang] = href;
}
expect(tipOf.zh && tipOf.en, `staff: the resident's tips are not both in the queue (${JSON.stringify(tipOf)})`);
await officer.goto(`${BASE}${tipOf.zh}`);
expect(await has(officer, '附件'), 'staff: the opened tip does not show its attachment');
// The photo shows inline (same-origin image under the page's CSP), the text file as text.
await officer.locator('ul.attachments img').first().scrollIntoViewIfNeeded();
expect(await officer.waitForFunction(() => { const i = document.querySelector('ul.attachments img'); return i && i.complete && i.naturalWidth === 160; }, null, { timeout: 10000 }).then(() => true, () => false),
  'staff: the photo does not show on the tip page');
expect(await has(officer, '附件：交易时间是晚上九点') && !(await has(officer, 'IMG_0001')), 'staff: the text attachment is not shown, or a file name is');
await audit(officer, 'staff-tip');
const full = await officer.locator('ul.attachments figure a').first().getAttribute('href');
const photoResp = await officer.context().request.get(`${BASE}${full}`);
expect(photoResp.status() === 200 && photoResp.headers()['content-type'] === 'image/png' && photoResp.headers()['x-content-type-options'] === 'nosniff',
  `staff: the full image answered ${photoResp.status()} ${photoResp.headers()['content-type']}`);

// --- search by identifier from the queue, in another spelling -----------------------------
await officer.goto(`${BASE}/staff/tips`);
await officer.fill('#s-q', '+86-13800138000');
expect((await click(officer, 'form[action="/staff/search"] button')) === 200, 'staff: the search answered an error');
expect(await has(officer, `href="${tipOf.zh}"`), 'staff: searching the phone number in another spelling did not find the tip');
await audit(officer, 'staff-search');

// --- assignment: "assign to me" on the tip, then the queue's "assigned to me" --------------
await officer.goto(`${BASE}${tipOf.zh}`);
expect((await click(officer, 'form[action$="/assign"]:has(input[type=hidden][name=username]) button')) === 200, 'staff: assign to me');
expect(await has(officer, '<dd>browser.officer</dd>'), 'staff: the tip page does not say who it is assigned to');
await officer.goto(`${BASE}/staff/tips`);
expect((await click(officer, 'a[href="/staff/tips?assigned=me"]')) === 200, 'staff: the "assigned to me" filter');
expect(await has(officer, `href="${tipOf.zh}"`) && !(await has(officer, `href="${tipOf.en}"`)), 'staff: "assigned to me" lists the wrong tips');
await audit(officer, 'staff-queue-assigned-me');

// --- linking: the related-tips section, a case opened from the tip, the case page ----------
await officer.goto(`${BASE}${tipOf.en}`);
expect(await has(officer, '相关线索'), 'staff: the tip page has no related-tips section');
expect((await click(officer, 'form[action$="/case"] button')) === 200 && await has(officer, '本线索属于案件'), 'staff: linking the tip into a new case');
await audit(officer, 'staff-tip-case');
expect((await click(officer, 'main a[href^="/staff/cases/"]')) === 200 && await has(officer, '案件中的线索'), 'staff: the case page does not list its tips');
await audit(officer, 'staff-case');

async function verify(tip) {
  await officer.goto(`${BASE}${tip}`);
  for (const to of ['triaging', 'assigned', 'investigating', 'verified']) {
    await officer.selectOption('#to', to);
    expect((await click(officer, 'form[action$="/transition"] button')) === 200, `staff: transition to ${to}`);
  }
  expect(await has(officer, '查证属实') && await has(officer, `href="${tip}/rewards/new"`), 'staff: the verified tip offers no reward proposal');
}
await verify(tipOf.zh);
const QUESTION = '请问交易一般在几点？';
await officer.fill('#message', QUESTION);
await click(officer, 'form[action$="/messages"] button');
expect(await has(officer, QUESTION), 'staff: the message to the reporter does not show on the tip');
await audit(officer, 'staff-tip-verified');

// --- the resident reads the question and answers, with the keyboard only -------------------
await status('zh', receipts.zh, 'status-thread-zh');
expect(await has(resident, QUESTION), 'status-thread-zh: the police question is not shown');
const focused = () => resident.evaluate(() => {
  const e = document.activeElement;
  return e ? `${e.tagName.toLowerCase()}#${e.id}|${e.closest('form')?.getAttribute('action') ?? ''}` : '';
});
let tabs = 0;
while (!(await focused()).startsWith('textarea#message-body') && tabs++ < 60) await resident.keyboard.press('Tab');
expect((await focused()).startsWith('textarea#message-body'), `status keyboard: Tab never reached the reply box (${await focused()})`);
const ANSWER = '晚上九点左右，在二楼';
await resident.keyboard.type(ANSWER);
await resident.keyboard.press('Tab');
const onButton = await focused();
expect(/^button#\|\/status\/message/.test(onButton), `status keyboard: Tab after the reply box went to ${onButton}, not its send button`);
const [sent] = await Promise.all([resident.waitForNavigation({ waitUntil: 'load' }), resident.keyboard.press('Enter')]);
expect(sent?.status() === 200 && await has(resident, '已发送') && await has(resident, ANSWER), 'status keyboard: the answer was not sent');
// The answer comes back at the conversation: the next Tab is the reply box again, not the top.
await resident.keyboard.press('Tab');
expect(resident.url().endsWith('#thread') && (await focused()).startsWith('textarea#message-body'), `status keyboard: after sending, Tab went to ${await focused()}`);
await auditCopy(resident, 'status-sent-zh');
console.log(`ok status keyboard: reply box after ${tabs} Tab presses, then its send button; Enter sends`);
await status('en', receipts.zh, 'status-thread-en');
await resident.fill('#message-body', 'The seller drives a white van.');
expect((await click(resident, 'form[action^="/status/message"] button')) === 200 && await has(resident, 'Sent.'), 'status-en: the answer was not sent');
await auditCopy(resident, 'status-sent-en');
// Reloading after a message sends it again: the same page, the message stored once (the queue
// below still flags two answers, not three).
{
  const again = await resident.reload({ waitUntil: 'load' });
  const shown = (await resident.content()).split('The seller drives a white van.').length - 1;
  expect(again?.status() === 200 && shown === 1, `status-en: a reload after a message answered ${again?.status()}, the message shown ${shown} times`);
  await auditCopy(resident, 'status-resent-en');
}

// --- the officer sees the answers and proposes a reward ------------------------------------
await officer.goto(`${BASE}/staff/tips`);
expect(await has(officer, '新留言 2'), 'staff: the queue does not flag the reporter\'s answers');
await audit(officer, 'staff-queue-messages');
await officer.goto(`${BASE}${tipOf.zh}`);
expect(await has(officer, ANSWER), 'staff: the reporter\'s answer is not on the tip');

const isoDay = (daysAgo) => new Date(Date.now() + 8 * 3600e3 - daysAgo * 86400e3).toISOString().slice(0, 10);
// Fills the proposal for 5 g of heroin (300 yuan: unit head, then finance) and proposes it.
async function propose(tip, crackedDaysAgo, shots) {
  await officer.goto(`${BASE}${tip}`);
  await click(officer, `a[href="${tip}/rewards/new"]`);
  if (shots) await audit(officer, 'staff-reward-new');
  await officer.selectOption('#drug_1', 'heroin');
  await officer.fill('#grams_1', '5');
  await officer.fill('#cracked_on', isoDay(crackedDaysAgo));
  await officer.fill('#justification', '据举报当场查获海洛因5克');
  if (shots) {
    expect((await click(officer, 'button[value=propose]')) === 422, 'staff: a proposal without eligibility should answer 422');
    expect(await has(officer, '三项资格都核实后才能提出'), 'staff: the eligibility error is missing');
    await audit(officer, 'staff-reward-errors');
  }
  for (const box of ['#not_duty_staff', '#not_accomplice', '#not_detained']) await officer.check(box);
  expect((await click(officer, 'button[value=suggest]')) === 200 && await has(officer, '300.00 至 300.00 元'), 'staff: no suggestion of 300 yuan');
  if (shots) await audit(officer, 'staff-reward-suggest');
  await click(officer, 'button[value=propose]');
  expect(/\/staff\/rewards\/[^/]+$/.test(officer.url()) && await has(officer, '审批中'), `staff: the proposal went to ${officer.url()}`);
  const ref = (await officer.textContent('h1'))?.replace('奖励', '').trim();
  if (shots) await audit(officer, 'staff-reward');
  return { url: officer.url(), ref };
}
// Cracked two months ago: past the day the reporter should have been told, so overdue.
const cash = await propose(tipOf.zh, 60, true);

// --- the unit head signs, then finance -----------------------------------------------------
const head = await signIn(HEAD);
await head.goto(`${BASE}/staff/tips`);
expect(await has(head, 'href="/staff/rewards?overdue=true"'), 'head: no overdue banner on the queue');
await audit(head, 'staff-queue-overdue');
await head.goto(`${BASE}/staff/rewards?mine=true`);
expect(await has(head, cash.ref), 'head: the reward is not in "waiting for me"');
await audit(head, 'staff-rewards');
await click(head, `table a[href="${new URL(cash.url).pathname}"]`);
await audit(head, 'staff-reward-sign');
async function sign(page, reward, who) {
  await page.goto(reward.url);
  expect((await click(page, 'form[action$="/sign"] button')) === 200 && await has(page, `已由 ${who}`), `${who}: signing ${reward.ref} failed`);
}
await sign(head, cash, HEAD);
const finance = await signIn(FINANCE);
await sign(finance, cash, FINANCE);
expect(await has(finance, '待领取'), 'finance: the signed reward is not claimable');

// --- the resident reads the claim code; finance pays it in cash -----------------------------
await status('zh', receipts.zh, 'status-reward-zh');
const claim = (await resident.textContent('.claim-code'))?.trim() ?? '';
// 19 digits since issue 14 (18 random and a check digit).
expect(/^\d{19}$/.test(claim.replace(/-/g, '')), `status-reward-zh: no claim code (${claim})`);
await status('en', receipts.zh, 'status-reward-en');
await finance.goto(`${BASE}/staff/payouts`);
await audit(finance, 'staff-payouts');
const typo = claim.slice(0, -1) + ((+claim.slice(-1) + 1) % 10);
async function pay(code, method, account = '') {
  await finance.goto(`${BASE}/staff/payouts`);
  await finance.fill('#claim_code', code);
  await finance.check(`#method_${method}`);
  if (account) await finance.fill('#account', account);
  return click(finance, 'form[action="/staff/payouts"] button');
}
expect((await pay(typo, 'cash')) === 400 && await has(finance, '校验位'), 'finance: a mistyped claim code is not caught');
await audit(finance, 'staff-payouts-errors');
expect((await pay(claim, 'cash')) === 201 && await has(finance, cash.ref) && await has(finance, '现金'), 'finance: the cash payout failed');
await audit(finance, 'staff-payout-done');
await status('zh', receipts.zh);
expect(await has(resident, '已经发放'), 'status: the paid reward does not say so');

// --- a second reward, paid by transfer: pending until finance confirms -----------------------
await verify(tipOf.en);
const transfer = await propose(tipOf.en, 0, false);
await sign(head, transfer, HEAD);
await sign(finance, transfer, FINANCE);
await status('en', receipts.en);
const claim2 = (await resident.textContent('.claim-code'))?.trim() ?? '';
expect((await pay(claim2, 'transfer', '工商银行 6222 0000 1111 2222')) === 201 && await has(finance, '待确认'), 'finance: the transfer was not recorded');
await finance.goto(`${BASE}/staff/payouts`);
expect(await has(finance, transfer.ref) && !(await has(finance, '6222')), 'finance: the pending transfer is not listed (or shows the account)');
await audit(finance, 'staff-payouts-pending');
expect((await click(finance, 'form[action$="/confirm"] button')) === 200 && await has(finance, '没有待确认的转账'), 'finance: confirming the transfer failed');

// --- the ledger, on the page and as CSV ------------------------------------------------------
await finance.goto(`${BASE}/staff/ledger`);
expect(await has(finance, cash.ref) && await has(finance, transfer.ref) && await has(finance, '600.00'), 'finance: the ledger misses a payout');
await audit(finance, 'staff-ledger');
const csv = await finance.request.get(`${BASE}/staff/ledger.csv`);
expect(csv.status() === 200 && (await csv.text()).includes(cash.ref), `finance: ledger.csv answered ${csv.status()}`);

// --- the admin opens the policy pages -------------------------------------------------------
const admin = await signIn(ADMIN);
await admin.goto(`${BASE}/staff/admin/policy/rewards`);
expect(await has(admin, 'cap_yuan'), 'admin: the reward policy is not shown');
await audit(admin, 'staff-policy-rewards');
await click(admin, 'a[href="/staff/admin/policy/calendar"]');
expect(await has(admin, '工作日历'), 'admin: the calendar is not shown');
await audit(admin, 'staff-policy-calendar');
await click(admin, 'a[href="/staff/admin/policy/retention"]');
expect(await has(admin, 'contact_days'), 'admin: the retention rules are not shown');
await audit(admin, 'staff-policy-retention');

// --- reader accounts need two people: the admin creates one, a county supervisor approves it --
await admin.goto(`${BASE}/staff/admin`);
await admin.fill('#new-username', 'browser.reader');
await admin.selectOption('#new-role', 'supervisor');
expect((await click(admin, 'form[action="/staff/admin/users"] button')) === 201, 'admin: the reader account was not created');
expect(await has(admin, '审批后才能登录'), 'admin: not told the new reader account waits');
const county = await signIn(COUNTY);
await click(county, 'a[href="/staff/accounts/pending"]');
expect(await has(county, 'browser.reader'), 'county supervisor: the waiting account is not listed');
await audit(county, 'staff-accounts-pending');
expect((await click(county, 'form[action="/staff/accounts/browser.reader/approve"] button')) === 200,
  'county supervisor: the approval failed');
expect(await has(county, '已批准 browser.reader'), 'county supervisor: no approval notice');
await audit(county, 'staff-accounts-approved');

// --- the monthly report: charts drawn on the server, tables, the suppressed downloads ---------
await click(admin, 'a[href="/staff/reports/monthly"]');
expect(await has(admin, '按乡镇') && (await admin.locator('svg.chart[role="img"] title').count()) === 4,
  'admin: the monthly report lacks its four labelled charts');
await audit(admin, 'staff-report-monthly');
const xlsx = await admin.request.get(`${BASE}/staff/reports/monthly.xlsx`);
expect(xlsx.status() === 200 && (await xlsx.body()).subarray(0, 2).toString() === 'PK', `admin: report.xlsx answered ${xlsx.status()}`);
const report = await admin.request.get(`${BASE}/staff/reports/monthly.csv`);
const reportText = await report.text();
expect(report.status() === 200 && reportText.includes('乡镇,西渡镇'), `admin: report.csv answered ${report.status()}`);
await head.goto(`${BASE}/staff/reports/monthly`);
expect(await has(head, '按类别') && !(await head.locator('select#unit').count()), 'unit head: the report is not the unit\'s own');
await audit(head, 'staff-report-unit');

// --- a hotline clerk's receipt: the resident exchanges it for one only they know ------------
await officer.goto(`${BASE}/staff/tips/new`);
await audit(officer, 'staff-new-tip');
for (const lang of ['zh', 'en']) {
  await officer.goto(`${BASE}/staff/tips/new`);
  await officer.selectOption('#category', 'venues');
  await officer.selectOption('#township', 'xidu');
  await officer.fill('#description', '来电人称桥头小卖部后门有人交易毒品');
  expect((await submit(officer)) === 201, 'staff: the hotline tip was not saved');
  const told = (await officer.textContent('#receipt'))?.trim() ?? '';
  if (lang === 'zh') await audit(officer, 'staff-caller-receipt');
  await status(lang, told, `status-rekey-${lang}`);
  expect((await click(resident, 'form[action^="/status/rekey"] button')) === 200, `rekey-${lang}: the exchange failed`);
  const fresh = (await resident.textContent('#receipt'))?.trim() ?? '';
  expect(/^\d{4}(-\d{4}){4}$/.test(fresh) && fresh !== told, `rekey-${lang}: no new receipt (${fresh})`);
  await auditCopy(resident, `rekey-${lang}`);
  await status(lang, told, null, 404);
  await status(lang, fresh, null, 200);
}

// --- captchas on: a new captcha, a wrong one with a photo, reloads ----------------------------
// The answer sealed in a captcha id, read with the keys dir's token pepper (as
// `CaptchaService::answer` does): HMAC-SHA256 subkey "captcha", then AES-256-GCM.
function solveCaptcha(id) {
  const pepper = Buffer.from(JSON.parse(fs.readFileSync(`${CKEYS}/peppers.key`, 'utf8')).token, 'hex');
  const lp = (s) => { const b = Buffer.from(s); const l = Buffer.alloc(8); l.writeBigUInt64BE(BigInt(b.length)); return Buffer.concat([l, b]); };
  const key = crypto.createHmac('sha256', pepper).update(lp('tipline-subkey-v1')).update(lp('captcha')).digest();
  const raw = Buffer.from(id, 'base64url');
  const d = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  d.setAAD(Buffer.from('captcha'));
  d.setAuthTag(raw.subarray(raw.length - 16));
  const pt = Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
  return pt.subarray(8, 13).toString('ascii');
}
if (CBASE) {
  const KEPT = { zh: '照片 1（已保留）', en: 'photo 1 (kept)' };
  const CDESC = { zh: '验证码路径：桥头网吧二楼有人交易', en: 'Captcha path: deals on the second floor of the bridge cafe' };
  const captchaId = () => resident.getAttribute('input[name=captcha_id]', 'value');
  const typed = async () => ({ d: await resident.inputValue('#description'), l: await resident.inputValue('#location'), c: await resident.inputValue('#category') });
  const creceipts = {};
  for (const lang of ['zh', 'en']) {
    await resident.goto(`${CBASE}/?lang=${lang}`);
    expect((await resident.locator('input[name=captcha_id]').count()) === 1, `captcha-${lang}: the second server has no captcha`);
    await resident.selectOption('#category', 'venues');
    await resident.selectOption('#township', 'xidu');
    await resident.fill('#description', CDESC[lang]);
    await resident.fill('#location', '桥头 2F');
    // "New captcha": the same form back with everything typed and a fresh captcha.
    const first = await captchaId();
    const code = await click(resident, 'button[formaction*="refresh=1"]');
    const kept = await typed();
    expect(code === 200 && (await captchaId()) !== first, `captcha-refresh-${lang}: answered ${code} without a new captcha`);
    expect(kept.d === CDESC[lang] && kept.l === '桥头 2F' && kept.c === 'venues', `captcha-refresh-${lang}: what was typed is lost (${JSON.stringify(kept)})`);
    await auditCopy(resident, `captcha-refresh-${lang}`, CBASE);
    // A wrong answer, with a photo: text and photo kept, and the page says so.
    await resident.setInputFiles('#attachment', { name: 'IMG_0002.png', mimeType: 'image/png', buffer: photoPng(200, 150) });
    const right = solveCaptcha(await captchaId());
    await resident.fill('#captcha_answer', right.split('').map(c => (c === '9' ? '2' : '9')).join(''));
    const wrongCode = await submit(resident);
    const after = await typed();
    expect(wrongCode === 422 && after.d === CDESC[lang] && after.l === '桥头 2F', `captcha-wrong-${lang}: answered ${wrongCode}, typed ${JSON.stringify(after)}`);
    expect(await has(resident, KEPT[lang]) && !(await has(resident, 'IMG_0002')), `captcha-wrong-${lang}: the page does not say the photo is kept`);
    await auditCopy(resident, `captcha-wrong-${lang}`, CBASE);
    // Corrected, the photo not chosen again: the receipt.
    await resident.fill('#captcha_answer', solveCaptcha(await captchaId()));
    expect((await submit(resident)) === 200, `captcha-right-${lang}: the corrected form was not filed`);
    creceipts[lang] = (await resident.textContent('#receipt'))?.trim() ?? '';
    expect(/^\d{4}(-\d{4}){4}$/.test(creceipts[lang]), `captcha-right-${lang}: no receipt shown`);
    const again = await resident.reload({ waitUntil: 'load' });
    expect(again?.status() === 200 && (await resident.textContent('#receipt'))?.trim() === creceipts[lang],
      `captcha-receipt-${lang}: a reload answered ${again?.status()} without the same receipt`);
    await auditCopy(resident, `captcha-receipt-reloaded-${lang}`, CBASE);
    // A message, then a reload of the page that answered it: shown (and stored) once.
    await resident.goto(`${CBASE}/status?lang=${lang}`);
    await resident.fill('#receipt', creceipts[lang]);
    await click(resident, 'form[action^="/status?"] button');
    const MSG = lang === 'zh' ? '补充：他骑一辆蓝色摩托车' : 'Also: he rides a blue motorbike';
    await resident.fill('#message-body', MSG);
    expect((await click(resident, 'form[action^="/status/message"] button')) === 200, `captcha-message-${lang}: not sent`);
    const resent = await resident.reload({ waitUntil: 'load' });
    const times = (await resident.content()).split(MSG).length - 1;
    expect(resent?.status() === 200 && times === 1, `captcha-message-${lang}: a reload answered ${resent?.status()}, the message shown ${times} times`);
    await auditCopy(resident, `captcha-message-resent-${lang}`, CBASE);
  }
  // The officer of the captcha server finds both tips, each once, with the photo that was kept.
  const cop = await signIn(CUSER, false, CBASE);
  const links = await cop.locator('table a[href^="/staff/tips/"]').evaluateAll(as => as.map(a => a.getAttribute('href')));
  expect(links.length === 2, `captcha staff: ${links.length} tips in the queue, not 2`);
  for (const href of links) {
    await cop.goto(`${CBASE}${href}`);
    const photos = await cop.locator('ul.attachments img').count();
    const html = await cop.content();
    const msgs = ['补充：他骑一辆蓝色摩托车', 'Also: he rides a blue motorbike'].reduce((n, m) => n + html.split(m).length - 1, 0);
    expect(photos === 1 && msgs === 1, `captcha staff: ${href} shows ${photos} photos (not the one kept) and ${msgs} messages (not one)`);
    expect(await cop.waitForFunction(() => { const i = document.querySelector('ul.attachments img'); return i && i.complete && i.naturalWidth === 200; }, null, { timeout: 10000 }).then(() => true, () => false),
      `captcha staff: the kept photo does not show on ${href}`);
  }
  console.log('ok captcha paths: new captcha, wrong captcha with a photo, reloads, in both languages');
}

// --- township returns (issue 20): a liaison files, the county reviews and sends back ---------
if (LIAISON) {
  const liaison = await signIn(LIAISON);
  expect(liaison.url().endsWith('/staff/returns'), `liaison: signed in at ${liaison.url()}`);
  expect(await has(liaison, '外出务工人员') && await has(liaison, '签字盖章扫描件'), 'liaison: the return form is incomplete');
  await audit(liaison, 'staff-returns-liaison');
  await liaison.fill('#r-progress', '本月走访全镇十二个村，摸排外出务工人员');
  await liaison.fill('#r-summary', '开展禁毒宣传三场，张贴海报两百份');
  await liaison.fill('#ledger-outflow_workers', '340');
  await liaison.fill('#ledger-prior_trafficking', '7');
  await liaison.fill('input[name="p0.name"]', '浏览器测试人');
  await liaison.fill('input[name="p0.whereabouts"]', '广东东莞');
  await liaison.setInputFiles('#r-scan', { name: 'scan.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% signed and stamped\n%%EOF\n') });
  await liaison.setInputFiles('#r-photos', { name: 'IMG_0002.png', mimeType: 'image/png', buffer: photoPng() });
  expect((await click(liaison, 'form[action="/staff/returns"] button[type=submit]')) === 200 && await has(liaison, '已报送'),
    `liaison: filing the return went to ${liaison.url()}`);
  expect(await has(liaison, '签字盖章扫描件（PDF）') && !(await has(liaison, '浏览器测试人')), 'liaison: the filed return shows no scan, or shows the people table');
  await liaison.locator('ul.files img').first().scrollIntoViewIfNeeded();
  expect(await liaison.waitForFunction(() => { const i = document.querySelector('ul.files img'); return i && i.complete && i.naturalWidth === 160; }, null, { timeout: 10000 }).then(() => true, () => false),
    'liaison: the photo does not show on the return page');
  await audit(liaison, 'staff-return-filed');
  const returnUrl = liaison.url().split('?')[0];
  await county.goto(`${BASE}/staff/returns`);
  expect(county.url().includes('/staff/returns/status') && await has(county, '岘山镇') && await has(county, '没有联络员'),
    `county: the returns page at ${county.url()} misses the township or the liaison cover`);
  await audit(county, 'staff-returns-status');
  await county.goto(returnUrl);
  expect(await has(county, '本月走访全镇十二个村') && await has(county, '查看摸排表'), 'county: the return page is incomplete');
  await audit(county, 'staff-return-review');
  expect((await click(county, 'a[href$="/people"]')) === 200 && await has(county, '浏览器测试人'), 'county: the people table does not open');
  await audit(county, 'staff-return-people');
  await county.goto(returnUrl);
  await county.fill('#rv-comment', '台帐数字与上月不符，请核实后重报');
  expect((await click(county, 'button[value=send_back]')) === 200 && await has(county, '已退回'), 'county: sending the return back failed');
  await liaison.goto(returnUrl);
  expect(await has(liaison, '台帐数字与上月不符') && await has(liaison, '更正并重新报送'), 'liaison: the comment or the correction form is missing');
  await audit(liaison, 'staff-return-sent-back');
}

await browser.close();
console.log(failures ? `${failures} browser check(s) failed` : 'browser checks passed');
process.exit(failures ? 1 : 0);
