// What the back office's browser stories share: an RFC 6238 code computed here (so the server's is checked by
// another implementation), axe-core (WCAG 2.2 A and AA rules) and a screenshot at two sizes, signing in with a
// password and a code, and Debian's chromium.
import { chromium } from 'playwright-core';
import { createHmac } from 'node:crypto';
import { readFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');
const SIZES = [['laptop', { width: 1280, height: 800 }], ['desktop', { width: 1920, height: 1080 }]];

function base32(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, value = 0;
  const bytes = [];
  for (const c of s.replace(/=+$/, '')) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) { bytes.push((value >>> (bits - 8)) & 255); bits -= 8; }
  }
  return Buffer.from(bytes);
}

// HMAC-SHA1, 30 s steps, six digits.
export function totp(secret, offsetSteps = 0) {
  const step = Math.floor(Date.now() / 1000 / 30) + offsetSteps;
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = createHmac('sha1', base32(secret)).update(msg).digest();
  const o = h[19] & 15;
  const n = ((h[o] & 127) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 1_000_000).padStart(6, '0');
}

// A code just taken cannot be taken again: wait for the next step when the current one is nearly over.
export async function freshCode(secret) {
  const left = 30 - (Math.floor(Date.now() / 1000) % 30);
  if (left < 3) await new Promise((r) => setTimeout(r, (left + 1) * 1000));
  return totp(secret);
}

// The story's command line (BASE_URL OUT_DIR), what it saw, and its checker: `check(page, name)` runs axe-core
// on the page at each size, keeps its violations in `seen.violations` and takes a screenshot.
export function story(script) {
  const [rawBase, out] = process.argv.slice(2);
  if (!rawBase || !out) {
    console.error(`usage: node ${script} BASE_URL OUT_DIR`);
    process.exit(2);
  }
  mkdirSync(out, { recursive: true });
  const base = rawBase.replace(/\/+$/, '');
  const seen = { screens: [], violations: [] };
  async function check(page, name) {
    for (const [label, size] of SIZES) {
      await page.setViewportSize(size);
      await page.addScriptTag({ content: axeSource });
      const result = await page.evaluate(async () => await window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
      }));
      for (const v of result.violations) {
        seen.violations.push({ screen: name, size: label, id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) });
      }
      await page.screenshot({ path: join(out, `${name}-${label}.png`), fullPage: true });
    }
    seen.screens.push(name);
  }
  async function signIn(page, [username, password, secret], name) {
    await page.goto(`${base}/office`);
    await page.waitForURL(/\/office\/login$/);
    await page.locator('#username').fill(username);
    await page.locator('#password').fill(password);
    await page.getByRole('button', { name: /Tiếp tục/ }).click();
    await page.waitForURL(/\/office\/login\/code$/);
    await page.locator('#code').fill(await freshCode(secret));
    await page.getByRole('button', { name: /Xác nhận/ }).click();
    await page.waitForURL(/\/office$/);
    if (name) await check(page, name);
  }
  return { base, out, seen, check, signIn };
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.BANSO_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
