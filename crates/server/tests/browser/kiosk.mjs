// Plays citizens at the kiosk screens in Debian's chromium, checks every screen with axe-core (WCAG 2.2 A
// and AA rules) at 1080×1920 and 1920×1080, and keeps a screenshot of each.
//
//   node kiosk.mjs KIOSK_URL STORY OUT_DIR
//
// STORY: chip (the chip card read through pcscd, the face at Chromium's fake camera; KIOSK_CARD and
// BANSO_FAKE_CAMERA say which), face-refused (the same, but the face step must fail), paid and unpaid (the chip
// story of an original the intake issues: the fee paid on the gateway simulator's page, or cancelled there), held (app login, an original the intake sends to an officer), refused (app login, an original
// with a secrecy mark), english (the held story's screens in English), timeout (the visit ends by itself mid-way),
// procedure (a birth registration filed: app login, search, form, wallet and scanned documents, slip printed,
// rating), procedure-fee (a signature certification: its fee paid on the gateway simulator's page before the
// dossier is filed), procedure-offline (the link to the centre pulled before filing: the dossier queued on
// the kiosk, sent when the test plugs it back; LINK_DIR is where the story and the test hand over), track-more and track-result (the phone at a slip's tracking address: the document asked for sent
// from TRACK_FILE; the result and its rating), web-wallet (the wallet page). Prints one JSON line with what it saw,
// exits 0 when the story went as it must, 1 otherwise.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [rawBase, story, out] = process.argv.slice(2);
const base = (rawBase ?? '').replace(/\/+$/, '');
if (!rawBase || !story || !out) {
  console.error('usage: node kiosk.mjs KIOSK_URL held|refused|timeout OUT_DIR');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');
const oidcDir = join(here, '../../../identity/tests/oidc');
const SIZES = [
  ['portrait', { width: 1080, height: 1920 }],
  ['landscape', { width: 1920, height: 1080 }],
];

// The camera: Chromium's fake capture device playing a film of the citizen (BANSO_FAKE_CAMERA, Y4M).
const camera = process.env.BANSO_FAKE_CAMERA
  ? ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${process.env.BANSO_FAKE_CAMERA}`]
  : [];
const browser = await chromium.launch({
  executablePath: process.env.BANSO_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required', ...camera],
});
const seen = { story, screens: [], violations: [], texts: {} };
let code = 1;

function isLocal(url) {
  try {
    const { protocol, hostname } = new URL(url);
    return protocol === 'data:' || protocol === 'about:' || protocol === 'blob:' || hostname === '127.0.0.1' || hostname === 'localhost';
  } catch { return false; }
}

// axe-core on the screen as it is, in both orientations; a screenshot of each.
async function check(page, name) {
  // How long the screen took from the tap (the navigation's start) to ready (its load event).
  const nav = await page.evaluate(() => {
    const e = performance.getEntriesByType('navigation')[0];
    return e ? { origin: performance.timeOrigin, ready: e.loadEventEnd - e.startTime } : null;
  });
  // Once per document (a screen checked twice is one tap).
  if (nav && !(seen.timed ??= []).includes(nav.origin)) {
    seen.timed.push(nav.origin);
    (seen.timings ??= []).push({ screen: name, readyMs: Math.round(nav.ready) });
  }
  for (const [label, size] of SIZES) {
    await page.setViewportSize(size);
    await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate(async () => await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
    }));
    for (const v of result.violations) {
      seen.violations.push({ screen: name, size: label, id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) });
    }
    const file = join(out, `${name}-${label}.png`);
    await page.screenshot({ path: file, fullPage: false });
    // Everything fits: nothing wider than the screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    if (overflow) seen.violations.push({ screen: name, size: label, id: 'horizontal-overflow', impact: 'serious', nodes: [] });
  }
  await page.setViewportSize(SIZES[0][1]);
  seen.screens.push(name);
  seen.texts[name] = await page.evaluate(() => (document.querySelector('main') ?? document.body).innerText.slice(0, 2000));
}

// A tap whose answer is the same screen again (the form posts, the server answers 303 to the same address):
// waiting for the address would return at once, so this waits for the next page's load event.
async function tapInPlace(page, target, timeout = 30_000) {
  const loaded = page.waitForEvent('load', { timeout });
  await target.click();
  await loaded;
}

async function throughConsent(page) {
  await page.goto(base);
  await check(page, 'start');
  // The start screen's spoken prompt: a WAV the page loads, and the button to hear it again shown.
  await page.locator('#listen').waitFor({ state: 'visible', timeout: 20_000 });
  const wav = await page.request.get(`${base}/static/voice/0?l=vi`);
  seen.voice = { status: wav.status(), type: wav.headers()['content-type'], bytes: (await wav.body()).length };
  await page.getByRole('button', { name: /Chứng thực bản sao điện tử từ bản chính/ }).click();
  await page.waitForURL(/\/consent$/);
  await check(page, 'consent');
  await page.getByRole('button', { name: /Tôi đồng ý/ }).click();
  await page.waitForURL(/\/identify$/);
  await check(page, 'identify');
}

async function appLogin(page) {
  await page.getByRole('button', { name: /Ứng dụng định danh quốc gia/ }).click();
  await page.waitForURL(/\/identify\/app$/);
  await page.locator('#app-qr').waitFor();
  await check(page, 'app-login');
  // The phone reads the QR off the screen (zbarimg, an independent decoder) and approves.
  const shot = join(out, 'qr-only.png');
  await page.locator('#app-qr').screenshot({ path: shot });
  const uri = execFileSync('zbarimg', ['-q', '--raw', shot], { encoding: 'utf8' }).trim();
  seen.qr = uri;
  execFileSync('node', ['approve.js', uri, 'approve'], { cwd: oidcDir, stdio: ['ignore', 'ignore', 'inherit'] });
  await page.waitForURL(/\/(document|procedures)$/, { timeout: 30_000 });
  if (new URL(page.url()).pathname === '/document') await check(page, 'document');
}

// The chip card on the reader and the face at the camera. KIOSK_CARD: "ID_NUMBER,BIRTH,EXPIRY" as printed.
// With `refused`, the face step must fail: its message is returned.
async function chipAndFace(page, refused = false) {
  const [id, birth, expiry] = (process.env.KIOSK_CARD ?? '').split(',');
  await page.getByRole('link', { name: /Thẻ Căn cước gắn chip/ }).click();
  await page.waitForURL(/\/identify\/card$/);
  await check(page, 'card');
  // The ID number on the on-screen keypad, the dates typed.
  await page.locator('#id_number').focus();
  for (const digit of id) await page.locator(`.keypad [data-key="${digit}"]`).click();
  await page.locator('#birth').fill(birth);
  await page.locator('#expiry').fill(expiry);
  await page.getByRole('button', { name: 'Đọc thẻ' }).click();
  await page.waitForURL(/\/identify\/face$/, { timeout: 60_000 });
  await page.waitForFunction(() => document.getElementById('camera').videoWidth > 0);
  await check(page, 'face');
  await page.getByRole('button', { name: 'Bắt đầu' }).click();
  const error = page.locator('#face-error');
  await Promise.race([
    page.waitForURL(/\/document$/, { timeout: 120_000 }),
    error.waitFor({ state: 'visible', timeout: 120_000 }),
  ]);
  if (await error.isVisible()) {
    const poses = await page.locator('.camera').getAttribute('data-seen');
    if (refused) {
      await check(page, 'face-refused');
      return (await error.innerText()).trim();
    }
    throw new Error(`the face step failed: ${await error.innerText()} (asked:seen:yaw ${poses})`);
  }
  if (refused) throw new Error('the face step let the citizen through');
  await check(page, 'document');
}

async function scanAndSend(page) {
  await page.getByLabel('Giấy khai sinh').check();
  await page.getByRole('button', { name: 'Tiếp tục' }).click();
  await page.waitForURL(/\/scan$/);
  await check(page, 'scan-empty');
  await tapInPlace(page, page.getByRole('button', { name: /Quét trang đầu/ }));
  await page.locator('.pages img').first().waitFor();
  await check(page, 'scan-one-page');
  await page.getByRole('button', { name: /Xong, gửi chứng thực/ }).click();
  await page.waitForURL(/\/(result|pay)$/, { timeout: 120_000 });
  if (new URL(page.url()).pathname === '/pay') await payOnThePhone(page);
  if (story !== 'unpaid') await check(page, `result-${story}`);
}

// The machine steps a screen's script waits on, timed from the request to the end of its answer: the face
// check (frames sent → verdict) and the issuance once the fee is paid (the last poll: intake again, sign, store).
const STEPS = { '/identify/face': 'face check (frames sent → verdict)', '/pay/poll': 'fee confirmed → copy issued' };
function timeSteps(page) {
  const started = new Map();
  page.on('request', (r) => {
    if (r.method() === 'POST' && STEPS[new URL(r.url()).pathname]) started.set(r, Date.now());
  });
  page.on('requestfinished', async (r) => {
    const t0 = started.get(r);
    if (t0 === undefined) return;
    const path = new URL(r.url()).pathname;
    let body = '';
    if (path === '/pay/poll') {
      // The answer that moved the screen on may be gone with the page: that one was the last poll.
      try { body = (await (await r.response())?.text()) ?? ''; } catch { body = '/result'; }
    }
    // Only the poll that found the payment (and issued) counts, not the waiting ones.
    if (path === '/pay/poll' && !body?.includes('/result')) return;
    (seen.steps ??= []).push({ step: STEPS[path], ms: Date.now() - t0 });
  });
}

// The fee: the phone reads the gateway's QR off the screen (zbarimg) and pays, or cancels, on the gateway's
// page; the kiosk waits for the central service to hear it from the gateway.
async function payOnThePhone(page) {
  await page.locator('#pay-qr').waitFor();
  await check(page, 'pay');
  const shot = join(out, 'pay-qr-only.png');
  await page.locator('#pay-qr').screenshot({ path: shot });
  const url = execFileSync('zbarimg', ['-q', '--raw', shot], { encoding: 'utf8' }).trim();
  seen.payUrl = url;
  const phone = await browser.newContext();
  const gateway = await phone.newPage();
  await gateway.goto(url);
  await gateway.getByRole('button', { name: story === 'unpaid' ? 'Cancel' : 'Pay', exact: true }).click();
  await gateway.waitForLoadState();
  await phone.close();
  await page.waitForURL(/\/(result|pay\/failed|procedures\/done)$/, { timeout: 60_000 });
  if (story === 'unpaid') {
    await check(page, 'pay-failed');
    seen.unpaid = await page.locator('main').innerText();
    await page.goto(`${base}/result`);
    seen.resultUnpaid = new URL(page.url()).pathname;
  }
}

// "Hoàn tất", then the rating screen ("Hài lòng", or skipped in the timeout story's absence): the visit ends.
async function finish(page) {
  await page.getByRole('link', { name: 'Hoàn tất' }).click();
  await page.waitForURL(/\/rate$/);
  await check(page, 'rate');
  await page.getByRole('button', { name: 'Hài lòng', exact: true }).click();
  seen.rated = 4;
}

// A signature certification up to its review screen: the app login, the procedure found by typing, the form,
// its one document scanned.
async function signatureCertificationToReview(page) {
  await page.goto(base);
  await page.getByRole('button', { name: /Nộp hồ sơ thủ tục hành chính/ }).click();
  await page.waitForURL(/\/consent$/);
  await page.getByRole('button', { name: /Tôi đồng ý/ }).click();
  await page.waitForURL(/\/identify$/);
  await appLogin(page);
  await page.locator('#q').focus();
  for (const key of 'chung thuc chu ky') await page.locator(`.keyboard [data-key="${key}"]`).click();
  await page.getByRole('button', { name: 'Tìm thủ tục' }).click();
  await page.locator('#found').waitFor();
  await page.getByRole('button', { name: /^Chứng thực chữ ký/ }).first().click();
  await page.waitForURL(/\/procedures\/form$/);
  await page.locator('#f-document_title').fill('Giấy ủy quyền');
  await page.locator('#f-signers').fill('1');
  await page.locator('#f-phone').fill('0912345678');
  await page.getByLabel('Ký', { exact: true }).check();
  await page.getByRole('button', { name: /Tiếp tục: giấy tờ kèm theo/ }).click();
  await page.waitForURL(/\/procedures\/documents$/);
  await tapInPlace(page, page.getByRole('button', { name: /Quét giấy tờ này/ }).first());
  await page.getByRole('link', { name: 'Xem lại hồ sơ' }).click();
  await page.waitForURL(/\/procedures\/review$/);
}

// Tells the test `name` (a file in LINK_DIR) and waits for its answer `reply`.
async function handOver(name, reply, timeout = 60_000) {
  const dir = process.env.LINK_DIR;
  writeFileSync(join(dir, name), 'ok');
  const start = Date.now();
  while (!existsSync(join(dir, reply))) {
    if (Date.now() - start > timeout) throw new Error(`the test did not answer ${name} with ${reply}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// After a visit ends: the start screen, and nothing of the citizen reachable (history, the scans).
async function nothingLeft(page, secrets) {
  await page.waitForURL((u) => new URL(u).pathname === '/', { timeout: 60_000 });
  const cookies = await page.context().cookies();
  seen.cookiesAfter = cookies.map((c) => c.name);
  await page.goBack().catch(() => {});
  const afterBack = await page.content();
  const scan = await page.request.get(`${base}/scan/1`);
  seen.scanAfter = scan.status();
  for (const url of ['/document', '/scan', '/result']) {
    await page.goto(base + url);
    seen[`after${url}`] = new URL(page.url()).pathname;
  }
  seen.leaked = secrets.filter((s) => s && afterBack.includes(s));
}

try {
  // bypassCSP: only so that axe-core can be put into the page; the screens' own policy allows no inline script.
  const context = await browser.newContext({ locale: 'vi-VN', bypassCSP: true });
  await context.route('**/*', (route) => (isLocal(route.request().url()) ? route.continue() : route.abort()));
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  timeSteps(page);
  if (story === 'paid' || story === 'unpaid') {
    await throughConsent(page);
    await chipAndFace(page);
    await scanAndSend(page);
    if (story === 'paid') {
      // The copy's QR on the final screen, read with zbarimg.
      const shot = join(out, 'copy-qr-only.png');
      await page.locator('#copy-qr').screenshot({ path: shot });
      seen.copyQr = execFileSync('zbarimg', ['-q', '--raw', shot], { encoding: 'utf8' }).trim();
      seen.result = await page.locator('main').innerText();
      // The address typed on the on-screen keyboard.
      await page.getByRole('link', { name: 'Nhận bản sao qua thư điện tử' }).click();
      await page.waitForURL(/\/deliver\/email$/);
      await check(page, 'email');
      await page.locator('#email').focus();
      for (const key of 'an.nguyen@example.vn') await page.locator(`.keyboard [data-key="${key}"]`).click();
      await page.getByRole('button', { name: 'Gửi bản sao' }).click();
      await page.waitForURL(/\/result$/);
      seen.delivered = await page.locator('main [role=status]').innerText();
      await check(page, 'result-emailed');
      seen.code = (await page.locator('.ok .code').first().innerText()).trim();
      await tapInPlace(page, page.getByRole('button', { name: 'In bản sao' }), 90_000);
      seen.printed = await page.locator('main [role=status]').innerText();
      // The wallet lists the copy.
      await page.goto(`${base}/wallet`);
      await check(page, 'wallet');
      seen.wallet = await page.locator('main').innerText();
      await page.goto(`${base}/result`);
      await finish(page);
    } else {
      await page.locator('#end button').click();
    }
    await nothingLeft(page, []);
  } else if (story === 'chip') {
    await throughConsent(page);
    await chipAndFace(page);
    seen.holder = (await page.locator('.ok strong').innerText()).trim();
    await scanAndSend(page);
    seen.result = await page.locator('main').innerText();
    await finish(page);
    await nothingLeft(page, [seen.holder]);
  } else if (story === 'face-refused') {
    await throughConsent(page);
    seen.faceError = await chipAndFace(page, true);
    // No identity: the next steps lead back to the identity screen.
    await page.goto(`${base}/document`);
    seen['after/document'] = new URL(page.url()).pathname;
    await page.locator('#end button').click();
    await page.waitForURL((u) => new URL(u).pathname === '/');
  } else if (story === 'english') {
    // The same visit in English: every screen in the other language, checked the same way.
    await page.goto(base);
    await page.getByRole('button', { name: /Certified electronic copy of an original/ }).click();
    await page.waitForURL(/\/consent$/);
    seen.lang = await page.locator('html').getAttribute('lang');
    await check(page, 'en-consent');
    await page.getByRole('button', { name: 'I agree, continue' }).click();
    await page.waitForURL(/\/identify$/);
    await check(page, 'en-identify');
    await page.getByRole('link', { name: /Chip ID card and face/ }).click();
    await page.waitForURL(/\/identify\/card$/);
    await check(page, 'en-card');
    await page.goto(`${base}/identify`);
    await page.getByRole('button', { name: /National ID app/ }).click();
    await page.waitForURL(/\/identify\/app$/);
    await page.locator('#app-qr').waitFor();
    await check(page, 'en-app-login');
    const shot = join(out, 'qr-only.png');
    await page.locator('#app-qr').screenshot({ path: shot });
    const uri = execFileSync('zbarimg', ['-q', '--raw', shot], { encoding: 'utf8' }).trim();
    execFileSync('node', ['approve.js', uri, 'approve'], { cwd: oidcDir, stdio: ['ignore', 'ignore', 'inherit'] });
    await page.waitForURL(/\/document$/, { timeout: 30_000 });
    await check(page, 'en-document');
    await page.getByRole('link', { name: 'My certified copies' }).click();
    await page.waitForURL(/\/wallet$/);
    await check(page, 'en-wallet');
    await page.getByRole('link', { name: 'Back' }).click();
    await page.getByLabel('Birth certificate').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/scan$/);
    await check(page, 'en-scan-empty');
    await tapInPlace(page, page.getByRole('button', { name: /Scan the first page/ }));
    await check(page, 'en-scan-one-page');
    await page.getByRole('button', { name: /Done, send for certification/ }).click();
    await page.waitForURL(/\/result$/, { timeout: 120_000 });
    await check(page, 'en-result');
    seen.result = await page.locator('main').innerText();
    // Back to Vietnamese with the toggle, then the end.
    await tapInPlace(page, page.getByRole('button', { name: 'Tiếng Việt' }));
    seen.langAfterToggle = await page.locator('html').getAttribute('lang');
    await finish(page);
    await nothingLeft(page, []);
  } else if (story === 'web-wallet') {
    // The citizen's wallet on the central service's web page (KIOSK_URL is the central service here).
    await page.goto(`${base}/wallet`);
    await check(page, 'web-wallet-signed-out');
    await page.getByRole('button', { name: /Đăng nhập bằng VNeID/ }).click();
    await page.locator('#wallet-qr').waitFor();
    await check(page, 'web-wallet-qr');
    const shot = join(out, 'qr-only.png');
    await page.locator('#wallet-qr').screenshot({ path: shot });
    const uri = execFileSync('zbarimg', ['-q', '--raw', shot], { encoding: 'utf8' }).trim();
    seen.qr = uri;
    execFileSync('node', ['approve.js', uri, 'approve'], { cwd: oidcDir, stdio: ['ignore', 'ignore', 'inherit'] });
    // Back on the page: "I have approved" (the provider may ask for a few seconds between polls).
    const list = page.getByRole('heading', { name: /Bản sao đã cấp cho/ });
    for (let i = 0; i < 20 && !(await list.isVisible()); i++) {
      await page.waitForTimeout(1000);
      await page.getByRole('button', { name: /Tôi đã xác nhận/ }).click();
      await page.waitForLoadState();
    }
    await check(page, 'web-wallet');
    seen.wallet = await page.locator('body').innerText();
    // A dossier's result, when the wallet lists one: opened with the page's own login.
    const result = page.locator('a.result').first();
    if (await result.count()) {
      const r = await page.request.get(new URL(await result.getAttribute('href'), page.url()).href);
      seen.resultPdf = { status: r.status(), type: r.headers()['content-type'], head: (await r.body()).subarray(0, 5).toString() };
    }
    await page.getByRole('button', { name: /Đăng xuất/ }).click();
    await page.getByRole('button', { name: /Đăng nhập bằng VNeID/ }).waitFor();
    seen.signedOut = true;
  } else if (story === 'procedure') {
    // A procedure's dossier: the app login, the procedure found by typing without diacritics, the form with the
    // identity's fields locked, one document from the wallet and one scanned, the slip printed, a rating.
    await page.goto(base);
    await check(page, 'start');
    await page.getByRole('button', { name: /Nộp hồ sơ thủ tục hành chính/ }).click();
    await page.waitForURL(/\/consent$/);
    await page.getByRole('button', { name: /Tôi đồng ý/ }).click();
    await page.waitForURL(/\/identify$/);
    await appLogin(page);
    await check(page, 'procedures');
    await page.locator('#q').focus();
    for (const key of 'dang ky khai sinh') await page.locator(`.keyboard [data-key="${key}"]`).click();
    await page.getByRole('button', { name: 'Tìm thủ tục' }).click();
    await page.locator('#found').waitFor();
    await check(page, 'procedures-found');
    seen.found = await page.locator('.choices').innerText();
    await page.getByRole('button', { name: /^Đăng ký khai sinh/ }).first().click();
    await page.waitForURL(/\/procedures\/form$/);
    await check(page, 'procedure-form');
    seen.locked = {
      id: await page.locator('#f-applicant_id').inputValue(),
      readonly: await page.locator('#f-applicant_id').getAttribute('readonly'),
      name: await page.locator('#f-applicant_name').inputValue(),
      label: await page.locator('label[for="f-applicant_id"]').innerText(),
    };
    const form = {
      child_name: 'Nguyễn Văn Bình', child_birth_date: '20/11/2026', child_birth_place: 'Bệnh viện Phụ sản Hà Nội',
      child_hometown: 'Hà Nội', child_ethnicity: 'Kinh', child_nationality: 'Việt Nam', mother_name: 'Trần Thị Cúc',
      mother_birth_year: '1995', phone: '0912345678', email: 'an.nguyen@example.vn',
    };
    for (const [k, v] of Object.entries(form)) await page.locator(`#f-${k}`).fill(v);
    await page.getByLabel('Nam', { exact: true }).check();
    await page.getByLabel('Cha', { exact: true }).check();
    await page.getByRole('button', { name: /Tiếp tục: giấy tờ kèm theo/ }).click();
    await page.waitForURL(/\/procedures\/documents$/);
    await check(page, 'procedure-documents');
    await tapInPlace(page, page.getByRole('button', { name: /Quét giấy tờ này/ }).first());
    await tapInPlace(page, page.getByRole('button', { name: /Từ ví giấy tờ/ }).first());
    seen.documents = await page.locator('main').innerText();
    await check(page, 'procedure-documents-chosen');
    await page.getByRole('link', { name: 'Xem lại hồ sơ' }).click();
    await page.waitForURL(/\/procedures\/review$/);
    await check(page, 'procedure-review');
    seen.review = await page.locator('main').innerText();
    await page.getByRole('button', { name: 'Nộp hồ sơ' }).click();
    await page.waitForURL(/\/procedures\/done$/, { timeout: 60_000 });
    await check(page, 'procedure-done');
    seen.dossier = (await page.locator('#dossier-code').innerText()).trim();
    seen.lookup = (await page.locator('#lookup-code').innerText()).trim();
    seen.due = (await page.locator('#due').innerText()).trim();
    const shot = join(out, 'dossier-qr-only.png');
    await page.locator('#dossier-qr').screenshot({ path: shot });
    seen.trackUrl = execFileSync('zbarimg', ['-q', '--raw', shot], { encoding: 'utf8' }).trim();
    await tapInPlace(page, page.getByRole('button', { name: /In giấy hẹn trả kết quả/ }), 90_000);
    seen.printed = await page.locator('#printed').innerText();
    await tapInPlace(page, page.getByRole('button', { name: 'Rất hài lòng', exact: true }));
    seen.rated = await page.locator('#rated').innerText();
    await page.getByRole('button', { name: 'Hoàn tất' }).click();
    await nothingLeft(page, [seen.lookup]);
  } else if (story === 'procedure-fee') {
    // A procedure with a fixed fee: the review states it, filing asks for it by the gateway's QR, the phone
    // pays, and the dossier is filed once the gateway has told the central service.
    await signatureCertificationToReview(page);
    await check(page, 'procedure-fee-review');
    seen.fee = await page.locator('#fee').innerText();
    await page.getByRole('button', { name: 'Nộp hồ sơ' }).click();
    await page.waitForURL(/\/pay$/, { timeout: 60_000 });
    seen.payScreen = await page.locator('main').innerText();
    await payOnThePhone(page);
    await check(page, 'procedure-fee-done');
    seen.dossier = (await page.locator('#dossier-code').innerText()).trim();
    seen.lookup = (await page.locator('#lookup-code').innerText()).trim();
  } else if (story === 'procedure-offline') {
    // A mobile service vehicle: the citizen logs in with the app and fills a signature certification while the
    // link is up; the link drops before they file (the test pulls it when LINK_DIR/pull appears and answers
    // LINK_DIR/pulled). The dossier is queued and the screen says so; the start screen says the kiosk is offline
    // with one dossier waiting. The test then restarts the kiosk, plugs the link back and waits for the dossier
    // (LINK_DIR/queued, LINK_DIR/plugged); the start screen's notice is gone after the next heartbeat.
    await signatureCertificationToReview(page);
    await handOver('pull', 'pulled');
    await page.getByRole('button', { name: 'Nộp hồ sơ' }).click();
    await page.waitForURL(/\/procedures\/queued$/, { timeout: 60_000 });
    await check(page, 'procedure-queued');
    seen.queued = await page.locator('main').innerText();
    seen.reference = (await page.locator('#queued-ref').innerText()).trim();
    await page.getByRole('button', { name: 'Hoàn tất' }).click();
    await page.waitForURL((u) => new URL(u).pathname === '/');
    await page.locator('#offline').waitFor();
    await check(page, 'start-offline');
    seen.startOffline = await page.locator('#offline').innerText();
    await handOver('queued', 'plugged', 180_000);
    for (let i = 0; i < 30 && (await page.locator('#offline').count()) > 0; i++) {
      await page.waitForTimeout(1000);
      await page.goto(base);
    }
    seen.offlineAfter = await page.locator('#offline').count();
    await check(page, 'start-online');
  } else if (story === 'track-kiosk') {
    // Following a dossier at the kiosk: its code and lookup code (TRACK_CODE, TRACK_K), the lookup code typed
    // on the screen's keyboard.
    await page.goto(base);
    await page.getByRole('link', { name: /Tra cứu hồ sơ đã nộp/ }).click();
    await page.waitForURL(/\/track$/);
    await check(page, 'track');
    await page.locator('#code').fill(process.env.TRACK_CODE);
    await page.locator('#k').focus();
    for (const key of process.env.TRACK_K) await page.locator(`.keyboard [data-key="${key}"]`).click();
    await page.getByRole('button', { name: 'Xem hồ sơ' }).click();
    await page.locator('#track-status').waitFor();
    await check(page, 'track-found');
    seen.status = await page.locator('#track-status').innerText();
    seen.timeline = await page.locator('#track-timeline').innerText();
    // The document the officer asked for, scanned and sent from here.
    await page.getByRole('button', { name: /Quét và gửi/ }).first().click();
    await page.waitForURL(/done=sent/, { timeout: 60_000 });
    await check(page, 'track-sent');
    seen.sent = await page.locator('#track-sent').innerText();
    seen.statusAfter = await page.locator('#track-status').innerText();
  } else if (story === 'track-more' || story === 'track-result') {
    // The citizen's phone opens the slip's QR (KIOSK_URL is that address here): the timeline; the document
    // asked for sent from the phone (TRACK_FILE), or the result and its rating.
    await page.goto(rawBase);
    await check(page, story);
    seen.timeline = await page.locator('#timeline').innerText();
    seen.status = await page.locator('#status').innerText();
    if (story === 'track-more') {
      const input = page.locator('input[type=file]').first();
      await input.setInputFiles(process.env.TRACK_FILE);
      await page.getByRole('button', { name: /Gửi giấy tờ bổ sung/ }).click();
      await page.locator('p.ok[role=status]').waitFor();
      await check(page, 'track-sent');
      seen.sent = await page.locator('p.ok[role=status]').innerText();
      seen.statusAfter = await page.locator('#status').innerText();
    } else {
      seen.result = await page.locator('#result').getAttribute('href');
      await page.locator('input[name=level][value=very_satisfied]').check();
      await page.getByRole('button', { name: /Gửi đánh giá/ }).click();
      await page.locator('p.ok[role=status]').waitFor();
      seen.rated = await page.locator('p.ok[role=status]').innerText();
    }
  } else if (story === 'held' || story === 'refused') {
    await throughConsent(page);
    await appLogin(page);
    await scanAndSend(page);
    const text = await page.locator('main').innerText();
    seen.result = text;
    const receipt = story === 'held' ? (await page.locator('.receipt .code').innerText()).trim() : null;
    seen.receipt = receipt;
    if (story === 'held') {
      // The address for the officer's decision, typed on the screen's keyboard.
      await page.getByRole('link', { name: /Nhận kết quả qua thư điện tử/ }).click();
      await page.waitForURL(/\/deliver\/email$/);
      await check(page, 'held-email');
      await page.locator('#email').focus();
      for (const key of 'an.nguyen@example.vn') await page.locator(`.keyboard [data-key="${key}"]`).click();
      await page.getByRole('button', { name: 'Đăng ký nhận kết quả' }).click();
      await page.waitForURL(/\/result$/);
      seen.notifySaid = await page.locator('#notify-said').innerText();
    }
    await finish(page);
    await nothingLeft(page, [receipt, 'Nguyễn Văn An', 'an.nguyen@example.vn']);
  } else if (story === 'timeout') {
    await throughConsent(page);
    await appLogin(page);
    // Leave the screen alone: the warning comes with its countdown, then the visit ends by itself.
    await page.locator('#idle').waitFor({ state: 'visible', timeout: 60_000 });
    await check(page, 'idle-warning');
    await nothingLeft(page, ['Nguyễn Văn An']);
  } else {
    throw new Error(`unknown story ${story}`);
  }
  code = 0;
} catch (err) {
  seen.error = String(err?.stack ?? err);
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
process.exit(code);
