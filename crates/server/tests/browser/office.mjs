// The back office in Debian's chromium: signing in with a password and an authenticator app's code, and what
// must be refused — a wrong code, a form without its CSRF token, the session's cookie after sign-out, an API
// token — with axe-core (WCAG 2.2 A and AA rules) on every page at 1280×800 and 1920×1080, and a screenshot of
// each.
//
//   node office.mjs BASE_URL OUT_DIR
//
// OFFICE_SUPERVISOR and OFFICE_AUDITOR: "USERNAME|PASSWORD|TOTP_BASE32"; OFFICE_OFFICER likewise (an officer,
// who may not read the audit log), OFFICE_ADMIN (an administrator); KIOSK_TOKEN and KIOSK_TOKEN_ID: an API
// token of the kiosk role and its id. Prints one JSON line with what
// it saw; exits 0 when everything went as it must, 1 otherwise.
import { story, launch, freshCode } from './office-lib.mjs';

const { base, seen, check, signIn } = story('office.mjs');
let code = 1;

const browser = await launch();
try {
  const supervisor = process.env.OFFICE_SUPERVISOR.split('|');
  const auditor = process.env.OFFICE_AUDITOR.split('|');
  const officer = process.env.OFFICE_OFFICER.split('|');
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();

  // Signed out: the sign-in page.
  await page.goto(`${base}/office`);
  await page.waitForURL(/\/office\/login$/);
  await check(page, 'login');
  // A wrong password: refused, without saying which part was wrong.
  await page.locator('#username').fill(supervisor[0]);
  await page.locator('#password').fill('not the password at all');
  const wrong = page.waitForResponse((r) => r.url().endsWith('/office/login') && r.request().method() === 'POST');
  await page.getByRole('button', { name: /Tiếp tục/ }).click();
  seen.wrongPassword = { status: (await wrong).status(), text: await page.locator('#error').innerText() };
  await check(page, 'login-refused');
  // The right password, then a wrong code: refused; then the right one.
  await page.locator('#username').fill(supervisor[0]);
  await page.locator('#password').fill(supervisor[1]);
  await page.getByRole('button', { name: /Tiếp tục/ }).click();
  await page.waitForURL(/\/office\/login\/code$/);
  await check(page, 'login-code');
  const right = await freshCode(supervisor[2]);
  await page.locator('#code').fill(String((Number(right) + 1) % 1_000_000).padStart(6, '0'));
  const wrongCode = page.waitForResponse((r) => r.url().endsWith('/office/login/code') && r.request().method() === 'POST');
  await page.getByRole('button', { name: /Xác nhận/ }).click();
  seen.wrongCode = { status: (await wrongCode).status(), text: await page.locator('#error').innerText() };
  await page.locator('#code').fill(await freshCode(supervisor[2]));
  await page.getByRole('button', { name: /Xác nhận/ }).click();
  await page.waitForURL(/\/office$/);
  await check(page, 'home');
  seen.home = await page.locator('main').innerText();
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'banso_office');
  seen.cookie = { httpOnly: session?.httpOnly, sameSite: session?.sameSite, path: session?.path };

  // The audit log, read by a supervisor.
  await page.getByRole('link', { name: /Nhật ký thao tác/ }).click();
  await page.waitForURL(/\/office\/audit$/);
  await check(page, 'audit');
  seen.audit = await page.locator('#audit').innerText();
  seen.chain = await page.locator('#chain').innerText();

  // The open dossiers: the one the test filed is in the queue; taken, then the citizen asked for a document.
  const dossierCode = process.env.DOSSIER_CODE;
  await page.goto(`${base}/office`);
  await page.locator('#dossiers-link').click();
  await page.waitForURL(/\/office\/dossiers$/);
  await check(page, 'dossiers');
  seen.queue = await page.locator(`tr[data-code="${dossierCode}"]`).innerText();
  await page.locator(`tr[data-code="${dossierCode}"] a`).click();
  await page.waitForURL(/\/office\/dossiers\/[^/]+$/);
  await check(page, 'dossier');
  await page.locator('#assign').click();
  await page.locator('#request').waitFor();
  seen.afterAssign = await page.locator('#status').innerText();
  seen.officer = await page.locator('#officer').innerText();
  await page.locator('input[name="documents"]').first().check();
  await page.locator('#note').fill('Đề nghị bổ sung bản quét rõ hơn của giấy tờ sẽ ký.');
  await page.locator('#request').click();
  await page.locator('#status').filter({ hasText: 'bổ sung' }).waitFor();
  seen.afterRequest = await page.locator('#status').innerText();
  await check(page, 'dossier-asked');
  // Another dossier: taken, and its result (a PDF the officer made) attached from its page.
  await page.goto(`${base}/office/dossiers/${process.env.RESULT_DOSSIER}`);
  await page.locator('#assign').click();
  await page.locator('#attach').waitFor();
  await check(page, 'dossier-result-form');
  await page.locator('#result-note').fill('Đã chứng thực chữ ký, mời nhận kết quả.');
  await page.locator('#result-file').setInputFiles(process.env.RESULT_PDF);
  await page.locator('#attach').click();
  await page.locator('#status').filter({ hasText: 'kết quả' }).waitFor();
  seen.afterResult = await page.locator('#status').innerText();

  // A form without the session's CSRF token (another site's page posting to it): refused, still signed in.
  const forged = await page.request.post(`${base}/office/logout`, { form: { csrf: 'forged' } });
  seen.forgedLogout = { status: forged.status(), text: (await forged.text()).includes('OFF-0003') };
  await page.goto(`${base}/office`);
  seen.stillSignedIn = new URL(page.url()).pathname === '/office';

  // An API token of the kiosk role: not taken by the back office.
  const withToken = await page.request.get(`${base}/office`, { headers: { Authorization: `Bearer ${process.env.KIOSK_TOKEN}` } });
  seen.kioskToken = { status: withToken.status(), text: (await withToken.text()).includes('OFF-0004') };

  // Sign out; the cookie, kept by a thief, opens nothing any more.
  await page.locator('#logout').click();
  await page.waitForURL(/\/office\/login$/);
  const thief = await browser.newContext({ bypassCSP: true });
  await thief.addCookies([{ name: 'banso_office', value: session.value, url: `${base}/office` }]);
  const stolen = await thief.newPage();
  await stolen.goto(`${base}/office`);
  seen.stolenCookie = new URL(stolen.url()).pathname;
  const stolenAudit = await stolen.request.get(`${base}/office/audit`, { maxRedirects: 0 });
  seen.stolenAudit = stolenAudit.status();
  await thief.close();

  // An auditor reads the log; an officer may not.
  const auditorContext = await browser.newContext({ bypassCSP: true });
  const auditorPage = await auditorContext.newPage();
  await signIn(auditorPage, auditor, 'home-auditor');
  seen.auditorRole = await auditorPage.locator('#role').innerText();
  await auditorPage.goto(`${base}/office/audit`);
  seen.auditorAudit = await auditorPage.locator('#audit').innerText();
  await auditorPage.goto(`${base}/office/audit?after=3`);
  seen.auditorAfter3 = await auditorPage.locator('#audit tbody tr td').first().innerText();
  await auditorContext.close();
  const officerContext = await browser.newContext({ bypassCSP: true });
  const officerPage = await officerContext.newPage();
  await signIn(officerPage, officer, null);
  seen.officerAuditLink = await officerPage.locator('#audit-link').count();
  const officerAudit = await officerPage.goto(`${base}/office/audit`);
  seen.officerAudit = { status: officerAudit.status(), text: await officerPage.locator('#error').innerText() };
  await check(officerPage, 'not-allowed');
  await officerContext.close();

  // An administrator makes an account in the form (its key shown once) and revokes the kiosk's API token; the
  // new officer then signs in with a code computed from that key.
  const admin = process.env.OFFICE_ADMIN.split('|');
  const adminContext = await browser.newContext({ bypassCSP: true });
  const adminPage = await adminContext.newPage();
  await signIn(adminPage, admin, null);
  await adminPage.locator('#officers-link').click();
  await adminPage.waitForURL(/\/office\/officers$/);
  await check(adminPage, 'officers');
  const newcomer = ['thu.ngo', 'mật khẩu ban đầu của Thu'];
  await adminPage.locator('#new-username').fill(newcomer[0]);
  await adminPage.locator('#new-name').fill('Ngô Thị Thu');
  await adminPage.getByLabel(/Cán bộ/).check();
  await adminPage.locator('#new-password').fill(newcomer[1]);
  await adminPage.locator('#create').click();
  await adminPage.locator('#made').waitFor();
  await check(adminPage, 'officer-made');
  const key = (await adminPage.locator('#totp-secret').innerText()).trim();
  seen.accounts = await adminPage.locator('#accounts').innerText();
  await adminPage.goto(`${base}/office/tokens`);
  await check(adminPage, 'tokens');
  const kioskId = process.env.KIOSK_TOKEN_ID;
  seen.tokenBefore = await adminPage.locator(`#token-${kioskId}`).innerText();
  await adminPage.locator(`#token-${kioskId} button`).click();
  await adminPage.waitForURL(/\/office\/tokens$/);
  seen.tokenAfter = await adminPage.locator(`#token-${kioskId}`).innerText();
  await adminContext.close();
  const newContext = await browser.newContext({ bypassCSP: true });
  const newPage = await newContext.newPage();
  await signIn(newPage, [newcomer[0], newcomer[1], key], null);
  seen.newcomerRole = await newPage.locator('#role').innerText();
  await newContext.close();
  code = 0;
} catch (err) {
  seen.error = String(err?.stack ?? err);
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
process.exit(code);
