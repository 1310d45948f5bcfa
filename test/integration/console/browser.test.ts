// The console in a real browser (Debian's chromium driven by playwright-core) against the running
// demo house (`hearth house`, in a namespace of its own): log in, see the rooms play in sync, move
// a volume slider and see the device's state follow, switch a stream, press Tune, press Wake,
// submit an invalid config and see the error at its path, lose a device and see it go offline.
// With HEARTH_SCREENSHOTS=<dir> it saves a screenshot of each view there (docs/console/ in the repo).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startHouse, type RunningHouse } from '../../helpers/house.ts';
import { DEMO_LATENCY_MS } from '../../../device/cli/house-devices.ts';

let house: RunningHouse;
let browser: Browser;
let page: Page;
const shots = process.env.HEARTH_SCREENSHOTS;

async function shot(name: string): Promise<void> {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
}

test.before(async () => {
  house = await startHouse();
  browser = await chromium.launch({ executablePath: house.chromium, args: ['--no-sandbox', '--disable-gpu'], headless: true });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 }, colorScheme: 'light' });
  page.setDefaultTimeout(30_000);
});

test.after(async () => {
  await browser?.close();
  await house?.stop();
});

test('log in with the admin login', async () => {
  await page.goto(house.consoleUrl);
  await page.locator('#login input[name=user]').fill('admin');
  await page.locator('#login input[name=password]').fill(house.admin);
  await shot('login');
  await page.locator('#login button[type=submit]').click();
  await page.locator('#conn.healthy').waitFor();
  assert.match((await page.locator('#conn').textContent()) ?? '', /connected to ws:\/\/127\.0\.0\.1:8080\/mqtt/);
});

test('the rooms play the music, in sync', async () => {
  for (const room of ['kitchen', 'lounge', 'study']) {
    await page.locator(`.room[data-device=${room}][data-playing=true][data-stream="living/music"]`).waitFor();
  }
  // Every room's own estimate inside ±500 µs at one moment (they start a few ms apart and settle).
  await page.waitForFunction(
    () => [...document.querySelectorAll('.room')].filter((r) => (r as HTMLElement).dataset.inSync === 'true').length === 3,
    undefined,
    { timeout: 60_000 },
  );
  const badges = await page.locator('.room .badge').allTextContents();
  assert.equal(badges.length, 3);
  for (const b of badges) assert.match(b, /^in sync [+-]?\d+ µs$/);
  // Each room plots its figures (a line once a few states arrived).
  await page.waitForFunction(
    () => [...document.querySelectorAll('.room .chart .series')].every((p) => (p.getAttribute('points') ?? '').split(' ').length >= 2),
    undefined,
    { timeout: 30_000 },
  );
  // Every room's level meter shows the music written to its DAC, on both channels.
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll('.room .levels .lvl-row')].filter((r) => Number((r as HTMLElement).dataset.peak) > -60).length === 6,
    undefined,
    { timeout: 30_000 },
  );
  // For the screenshot: half a minute of history in every plot.
  if (shots)
    await page.waitForFunction(
      () => [...document.querySelectorAll('.room .chart .series')].every((p) => (p.getAttribute('points') ?? '').split(' ').length >= 12),
      undefined,
      { timeout: 90_000 },
    );
  await shot('rooms');
});

test("moving the kitchen's volume slider changes the device's state", async () => {
  const slider = page.locator('.room[data-device=kitchen] input.volume');
  await slider.fill('0.4');
  await page.locator('.room[data-device=kitchen] input.volume[data-state="0.4"]').waitFor();
  const st = house.retained('hearth/kitchen/state/player') as { detail: { volume: number } };
  assert.is(st.detail.volume, 0.4, 'the device itself says 0.4');
  await page.locator('.room[data-device=kitchen] button.mute').click();
  await page.locator('.room[data-device=kitchen] button.mute[aria-pressed=true]').waitFor();
  assert.is((house.retained('hearth/kitchen/state/player') as { detail: { muted: boolean } }).detail.muted, true);
  // Muted, the DAC gets silence, and the meter says so once a whole state interval was muted.
  await page.locator('.room[data-device=kitchen] .lvl-row[data-channel=L][data-peak="-120"]').waitFor({ timeout: 10_000 });
  assert.is(await page.locator('.room[data-device=kitchen] .lvl-row[data-channel=R] .lvl-value').textContent(), 'silent');
  await page.locator('.room[data-device=kitchen] button.mute').click();
  await page.locator('.room[data-device=kitchen] button.mute[aria-pressed=false]').waitFor();
});

test('switching the study to the tone', async () => {
  const picker = page.locator('.room[data-device=study] select.stream-picker');
  await page.waitForFunction(() =>
    [...document.querySelectorAll('.room[data-device=study] select.stream-picker option')].some(
      (o) => (o as HTMLOptionElement).value === 'living/tone',
    ),
  );
  await picker.selectOption('living/tone');
  await page.locator('.room[data-device=study][data-stream="living/tone"][data-playing=true]').waitFor();
  assert.is((house.retained('hearth/study/state/player') as { detail: { stream: { id: string } } }).detail.stream.id, 'living/tone');
  // The tone's amplitude is 0.3 (−10.5 dBFS) at the study's full volume: its meter reads that peak.
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll('.room[data-device=study] .lvl-row')].every(
        (r) => Math.abs(Number((r as HTMLElement).dataset.peak) + 10.5) <= 0.6,
      ),
    undefined,
    { timeout: 15_000 },
  );
});

test('the streams view lists both streams and who listens', async () => {
  await page.goto(`${house.consoleUrl}#streams`);
  await page.locator('.source[data-device=living] .streams li').nth(1).waitFor();
  await page.waitForFunction(() =>
    /listening: .*Study/.test(document.querySelectorAll('.source[data-device=living] .listeners')[1]?.textContent ?? ''),
  );
  assert.match((await page.locator('.source[data-device=living] .listeners').first().textContent()) ?? '', /Kitchen.*Lounge/);
  await shot('streams');
});

test('pressing Tune (memory) gives the outcome with KEY timings', async () => {
  await page.goto(`${house.consoleUrl}#tuner`);
  await page.locator('.tuner[data-device=shack][data-status=idle]').waitFor();
  await page.locator('.tuner[data-device=shack] button[data-mode=memory]').click();
  await page.locator('.tuner[data-device=shack] .last b[data-outcome=tuned]').waitFor();
  const timings = await page.locator('.tuner[data-device=shack] .key-timings').textContent();
  assert.match(timings ?? '', /KEY after \d+ ms, low (8|9|10)\d\d ms/, 'the AT-7000 holds KEY ~900 ms for a memory tune');
  await page.locator('.tuner[data-device=shack] .history li').first().waitFor();
  await shot('tuner');
});

test('pressing Wake brings the NAS up', async () => {
  await page.goto(`${house.consoleUrl}#waker`);
  await page.locator('.waker[data-device=hall] tr[data-host=nas]').waitFor();
  await page.locator('.waker[data-device=hall] button.wake[data-host=nas]').click();
  await page.locator('.waker[data-device=hall] tr[data-host=nas][data-state=awake]').waitFor({ timeout: 30_000 });
  await shot('waker');
});

test('the events timeline shows what happened', async () => {
  await page.goto(`${house.consoleUrl}#events`);
  await page.locator('.timeline li', { hasText: 'wake-sent' }).first().waitFor();
  await page.locator('.timeline li', { hasText: 'stream-switched' }).first().waitFor();
  await shot('events');
});

test('an invalid config is refused with the error at its path', async () => {
  await page.goto(`${house.consoleUrl}#devices`);
  const card = page.locator('.device[data-device=kitchen]');
  await card.locator('button.edit-config').click();
  const area = card.locator('textarea.config-text');
  const cfg = JSON.parse(await area.inputValue());
  cfg.roles.player.latencyMs = 1;
  await area.fill(JSON.stringify(cfg, null, 2));
  await card.locator('.config-editor button[type=submit]').click();
  await card.locator('.config-errors li[data-path="/roles/player/latencyMs"]').waitFor();
  assert.match((await card.locator('.config-errors').textContent()) ?? '', /\/roles\/player\/latencyMs must be >= 20/);
  assert.is(
    (house.retained('hearth/kitchen/config') as { config: { roles: { player: { latencyMs: number } } } }).config.roles.player.latencyMs,
    DEMO_LATENCY_MS,
    'the device kept its config',
  );
  // A valid change goes through as a patch and the device applies it.
  cfg.roles.player.latencyMs = 160;
  await area.fill(JSON.stringify(cfg, null, 2));
  await card.locator('.config-editor button[type=submit]').click();
  await card.locator('.config-result.healthy').waitFor();
  assert.is(
    (house.retained('hearth/kitchen/config') as { config: { roles: { player: { latencyMs: number } } } }).config.roles.player.latencyMs,
    160,
  );
  cfg.roles.player.latencyMs = 2;
  await area.fill(JSON.stringify(cfg, null, 2));
  await shot('devices');
});

test('a device that dies goes offline in the console', async () => {
  const attic = await house.extraDevice('attic');
  await page.locator('.device[data-device=attic][data-status=online]').waitFor({ timeout: 30_000 });
  attic.kill('SIGKILL');
  await page.locator('.device[data-device=attic][data-status=offline]').waitFor({ timeout: 30_000 });
  assert.match((await page.locator('.device[data-device=attic] .badge.status').textContent()) ?? '', /^offline/);
});

test.run();
