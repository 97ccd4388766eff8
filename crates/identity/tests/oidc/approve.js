// The citizen's phone: opens verification_uri_complete in headless Chromium,
// confirms the user code, signs in and approves or denies.
//
//   node approve.js VERIFICATION_URI_COMPLETE approve|deny
//
// Prints "RESULT approved" / "RESULT denied" and exits 0 when the provider showed
// the expected final page; exits 1 otherwise. Requests to anything but the
// loopback are refused, so the browser never leaves this machine.
import { chromium } from 'playwright-core';

const [uri, decision] = process.argv.slice(2);
if (!uri || !['approve', 'deny'].includes(decision)) {
  console.error('usage: node approve.js VERIFICATION_URI_COMPLETE approve|deny');
  process.exit(2);
}

const LOGIN = 'citizen';
const PASSWORD = 'correct horse';
const STEP_TIMEOUT_MS = 20_000;

function isLoopback(url) {
  try {
    const { protocol, hostname } = new URL(url);
    if (protocol === 'data:' || protocol === 'about:') return true;
    return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
  } catch {
    return false;
  }
}

const browser = await chromium.launch({
  executablePath: process.env.BANSO_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

let code = 1;
try {
  const context = await browser.newContext();
  await context.route('**/*', (route) => (isLoopback(route.request().url()) ? route.continue() : route.abort()));
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);

  // verification_uri_complete auto-posts the user code, then asks to confirm it.
  await page.goto(uri);
  await page.locator('#confirm').waitFor();
  const shown = (await page.locator('#user-code').textContent())?.trim();
  const expected = new URL(uri).searchParams.get('user_code');
  if (shown !== expected) {
    throw new Error(`confirmation page shows ${shown}, kiosk shows ${expected}`);
  }
  await page.locator('#confirm').click();

  await page.locator('#sign-in').waitFor();
  await page.locator('input[name=login]').fill(LOGIN);
  await page.locator('input[name=password]').fill(PASSWORD);
  await page.locator('#sign-in').click();

  await page.locator(decision === 'approve' ? '#approve' : '#deny').click();

  if (decision === 'approve') {
    await page.locator('#done').waitFor();
    console.log('RESULT approved');
  } else {
    // A denial ends on the provider's error page (access_denied).
    await page.locator('#error').waitFor();
    const text = (await page.locator('#error').textContent()) ?? '';
    console.log(`RESULT denied ${text.trim()}`);
  }
  code = 0;
} catch (err) {
  console.error(`approve.js failed: ${err?.stack ?? err}`);
} finally {
  await browser.close();
}
process.exit(code);
