// The review queue in Debian's chromium: two officers race to take one held request (one wins, the other is
// told who has it), the winner approves it (the copies are issued in their name), an officer refuses another
// on a clause of Art. 22 and asks for a rescan of a third; an auditor reads the log and may act on nothing. axe-core
// and a screenshot on every page.
//
//   node review.mjs BASE_URL OUT_DIR
//
// REVIEW_OFFICER, REVIEW_SUPERVISOR, REVIEW_AUDITOR: "USERNAME|PASSWORD|TOTP_BASE32"; HELD: the held requests'
// ids, comma-separated (three). Prints one JSON line with what it saw; exits 0 when everything went as it must.
import { story, launch } from './office-lib.mjs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const { base, out, seen, check, signIn } = story('review.mjs');
let code = 1;
const browser = await launch();
try {
  const officer = process.env.REVIEW_OFFICER.split('|');
  const supervisor = process.env.REVIEW_SUPERVISOR.split('|');
  const auditor = process.env.REVIEW_AUDITOR.split('|');
  const [raced, refused, rescanned] = process.env.HELD.split(',');
  const a = await (await browser.newContext({ bypassCSP: true })).newPage();
  const b = await (await browser.newContext({ bypassCSP: true })).newPage();
  await signIn(a, officer, null);
  await signIn(b, supervisor, null);

  await a.getByRole('link', { name: /chờ xem xét/ }).click();
  await a.waitForURL(/\/office\/reviews$/);
  seen.queue = await a.locator('#reviews').innerText();
  await check(a, 'reviews');

  // Both open the same request and take it at once: one holds it.
  await a.goto(`${base}/office/reviews/${raced}`);
  await b.goto(`${base}/office/reviews/${raced}`);
  seen.regions = await a.locator('svg.page').first().getAttribute('data-regions');
  seen.checks = await a.locator('table.checks').first().innerText();
  seen.identity = await a.locator('#holder-name').innerText();
  await check(a, 'review');
  await Promise.all([a.locator('#claim').click(), b.locator('#claim').click()]);
  await Promise.all([a.waitForLoadState('load'), b.waitForLoadState('load')]);
  const won = async (p) => (await p.locator('#approve').count()) > 0;
  const [aWon, bWon] = [await won(a), await won(b)];
  seen.race = { a: aWon, b: bWon };
  const [winner, loser] = aWon ? [a, b] : [b, a];
  seen.loser = (await loser.locator('#error').count()) ? await loser.locator('#error').innerText() : await loser.locator('#state').innerText();
  await check(loser, 'review-taken');
  await check(winner, 'review-mine');
  // The one who lost cannot decide it either (the form sent anyway, with their own CSRF token).
  const loserCsrf = await loser.locator('input[name="csrf"]').first().getAttribute('value');
  const sneak = await loser.request.post(`${base}/office/reviews/${raced}/approve`, { form: { csrf: loserCsrf }, maxRedirects: 0 });
  seen.loserApprove = { status: sneak.status(), text: (await sneak.text()).includes('OFF-0005') };
  await winner.locator('#approve').click();
  await winner.waitForURL(new RegExp(`/office/reviews/${raced}$`));
  seen.issued = await winner.locator('#issued').innerText();
  seen.approvedState = await winner.locator('#state').innerText();
  seen.winner = aWon ? officer[0] : supervisor[0];
  await check(winner, 'review-approved');

  // A refusal on a clause of Art. 22, in the officer's words; a reason is required.
  await a.goto(`${base}/office/reviews/${refused}`);
  await a.locator('#claim').click();
  await a.waitForURL(new RegExp(`/office/reviews/${refused}$`));
  await a.locator('#clause').selectOption('1');
  await a.locator('#note').fill('Trang 1 có dấu hiệu sửa chữa ở phần họ tên người được khai sinh.');
  await a.locator('#refuse').click();
  await a.waitForURL(new RegExp(`/office/reviews/${refused}$`));
  seen.ground = await a.locator('#ground').innerText();
  seen.refusedState = await a.locator('#state').innerText();
  await check(a, 'review-refused');
  // A rescan.
  await a.goto(`${base}/office/reviews/${rescanned}`);
  await a.locator('#claim').click();
  await a.waitForURL(new RegExp(`/office/reviews/${rescanned}$`));
  await a.locator('#rescan-note').fill('Ảnh quét bị mờ, xin quét lại.');
  await a.locator('#rescan').click();
  await a.waitForURL(new RegExp(`/office/reviews/${rescanned}$`));
  seen.rescanState = await a.locator('#state').innerText();
  await a.goto(`${base}/office/reviews`);
  seen.queueAfter = await a.locator('#reviews').innerText();

  // A passkey: registered in Chromium's virtual authenticator (over CDP), then used to sign in instead of
  // the code; a forged assertion is refused.
  const cdp = await a.context().newCDPSession(a);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', { options: {
    protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
    isUserVerified: true, automaticPresenceSimulation: true,
  } });
  await a.goto(`${base}/office`);
  await a.locator('#passkeys-link').click();
  await a.waitForURL(/\/office\/passkeys$/);
  await check(a, 'passkeys');
  await a.locator('#label').fill('Máy tính bàn làm việc');
  await a.locator('#add-passkey').click();
  await a.locator('#added').waitFor();
  seen.passkeys = await a.locator('#keys').innerText();
  await check(a, 'passkey-added');
  await a.locator('#logout').click();
  await a.waitForURL(/\/office\/login$/);
  await a.locator('#username').fill(officer[0]);
  await a.locator('#password').fill(officer[1]);
  await a.getByRole('button', { name: /Tiếp tục/ }).click();
  await a.waitForURL(/\/office\/login\/code$/);
  await check(a, 'login-passkey');
  const forged = await a.request.post(`${base}/office/login/code`, { form: {
    credential: 'bm90LWEta2V5', client_data: 'e30', authenticator_data: 'AAAA', signature: 'MEQCIA',
  }, maxRedirects: 0 });
  seen.forgedPasskey = { status: forged.status(), text: (await forged.text()).includes('OFF-0001') };
  await a.goto(`${base}/office/login/code`);
  await a.locator('#use-passkey').click();
  await a.waitForURL(/\/office$/);
  seen.passkeyHome = await a.locator('#role').innerText();

  // The supervisor's figures: the requests this story made, and the year's book as sealed PDF and CSV.
  await b.goto(`${base}/office`);
  await b.locator('#dashboard-link').click();
  await b.waitForURL(/\/office\/dashboard$/);
  seen.dashboard = {
    requests: await b.locator('#requests').innerText(),
    heldRate: await b.locator('#held-rate').innerText(),
    grounds: await b.locator('#grounds').innerText(),
    officers: await b.locator('#officers').innerText(),
    reviewTime: (await b.locator('#review-time').count()) ? await b.locator('#review-time').innerText() : '',
    bars: await b.locator('svg.chart rect').count(),
    byChannel: await b.locator('#by-channel').innerText(),
    byProcedure: await b.locator('#by-procedure-volume').innerText(),
    body: await b.locator('#body').innerText(),
  };
  await check(b, 'dashboard');
  const csv = await b.request.get(`${base}/office/dashboard.csv?days=30`);
  seen.dashboardCsv = await csv.text();
  await b.goto(`${base}/office/books`);
  await check(b, 'books');
  const year = process.env.BOOK_YEAR;
  for (const kind of ['pdf', 'csv']) {
    const r = await b.request.get(`${base}/office/books/${year}.${kind}`);
    seen[`book_${kind}`] = { status: r.status(), type: r.headers()['content-type'] };
    writeFileSync(join(out, `book.${kind}`), await r.body());
  }
  // The registry: a holder is searched only with a reason (kept in the audit log); the approved copy, found by
  // its code, is cancelled by decision.
  await b.goto(`${base}/office/registry`);
  await check(b, 'registry');
  await b.locator('#holder').fill('001099012345');
  await b.locator('#search-button').click();
  await b.locator('#error').waitFor();
  seen.holderWithoutReason = await b.locator('#error').innerText();
  await b.locator('#reason').fill('Công dân đề nghị cấp lại danh sách bản sao đã chứng thực');
  await b.locator('#search-button').click();
  await b.locator('#found').waitFor();
  seen.byHolder = await b.locator('#found').innerText();
  const approved = (await b.locator('#found code').allInnerTexts());
  await b.goto(`${base}/office/registry?code=${encodeURIComponent(seen.issued.split(':').pop().trim().split(/\s+/)[0])}`);
  await b.locator('#revoke-reason').fill('Bản chính đã bị thu hồi theo quyết định của cơ quan cấp');
  await b.locator('#decision').fill('123/QĐ-UBND');
  await check(b, 'registry-copy');
  await b.locator('#revoke-button').click();
  await b.locator('#done').waitFor();
  seen.cancelled = await b.locator('#found .status').innerText();
  seen.byHolderCount = approved.length;
  // An officer may not export the book.
  const mine = await a.request.get(`${base}/office/books/${year}.csv`);
  seen.officerBook = mine.status();

  // The auditor reads the log and acts on nothing.
  const c = await (await browser.newContext({ bypassCSP: true })).newPage();
  await signIn(c, auditor, null);
  await c.goto(`${base}/office/audit`);
  seen.audit = await c.locator('main').innerText();
  const auditorCsrf = await c.locator('input[name="csrf"]').first().getAttribute('value');
  const queue = await c.goto(`${base}/office/reviews`);
  seen.auditorQueue = { status: queue.status(), text: (await c.locator('main').innerText()).includes('OFF-0004') };
  const act = await c.request.post(`${base}/office/reviews/${raced}/claim`, { form: { csrf: auditorCsrf }, maxRedirects: 0 });
  seen.auditorClaim = act.status();
  code = 0;
} catch (e) {
  seen.error = String(e?.stack ?? e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
process.exit(code);
