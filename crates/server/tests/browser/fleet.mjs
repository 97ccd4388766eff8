// The kiosk fleet in Debian's chromium: an administrator makes a one-time enrolment code (printed as
// `CODE <code>` for the test to start a kiosk with), waits for the kiosk to come up (the file KIOSK_UP), then
// sees it on the fleet page with its peripherals and alerts, and revokes it. axe-core and screenshots.
//
//   node fleet.mjs BASE_URL OUT_DIR      FLEET_ADMIN="USERNAME|PASSWORD|TOTP_BASE32" KIOSK_UP=FILE
import { story, launch } from './office-lib.mjs';
import { existsSync } from 'node:fs';

const { base, seen, check, signIn } = story('fleet.mjs');
let code = 1;
const browser = await launch();
try {
  const admin = process.env.FLEET_ADMIN.split('|');
  const page = await (await browser.newContext({ bypassCSP: true })).newPage();
  await signIn(page, admin, null);
  await page.locator('#fleet-link').click();
  await page.waitForURL(/\/office\/fleet$/);
  await check(page, 'fleet-empty');
  await page.locator('#kiosk-name').fill('Ki-ốt số 2, tầng 1');
  await page.locator('#make-code').click();
  await page.locator('#code-value').waitFor();
  await check(page, 'fleet-code');
  console.log(`CODE ${await page.locator('#code-value').innerText()}`);
  for (let i = 0; i < 600 && !existsSync(process.env.KIOSK_UP); i++) await new Promise((r) => setTimeout(r, 200));
  await page.goto(`${base}/office/fleet`);
  const row = page.locator('#fleet tr', { hasText: 'Ki-ốt số 2' });
  seen.row = await row.innerText();
  await check(page, 'fleet');
  await row.locator('button.revoke').click();
  await page.waitForURL(/\/office\/tokens$/);
  await page.goto(`${base}/office/fleet`);
  seen.after = await page.locator('#fleet').innerText();
  code = 0;
} catch (e) {
  seen.error = String(e?.stack ?? e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
process.exit(code);
