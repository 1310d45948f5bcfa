// `hearth flash` write and read-back verify against plain files standing in for a card.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, openSync, writeSync, closeSync, statSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writeImage, verifyImage, hashPrefix, type WriteProgress } from '../../../device/image/flash.ts';

const work = mkdtempSync(join(tmpdir(), 'hearth-flash-it-'));
const image = join(work, 'image.img');
const data = Buffer.concat([randomBytes(5 * 1024 * 1024 + 123), Buffer.alloc(1024 * 1024)]);
writeFileSync(image, data);

test('writes the whole image with rising progress, then verifies by hash', async () => {
  const card = join(work, 'card.bin');
  const seen: WriteProgress[] = [];
  const w = await writeImage(image, card, { chunkBytes: 1024 * 1024, onProgress: (p) => seen.push(p) });
  assert.is(w.bytes, data.length);
  assert.equal(readFileSync(card), data);
  assert.ok(seen.length >= 6);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.done > seen[i - 1]!.done);
  assert.is(seen.at(-1)!.done, data.length);
  assert.ok(seen.every((p) => p.phase === 'write' && p.total === data.length));
  const v = await verifyImage(image, card);
  assert.ok(v.ok);
  assert.is(v.imageSha256, createHash('sha256').update(data).digest('hex'));
});

test("verify compares only the image's length (a card is larger) and catches one flipped byte", async () => {
  const card = join(work, 'bigger.bin');
  writeFileSync(card, Buffer.concat([data, Buffer.alloc(3 * 1024 * 1024, 0xee)]));
  assert.ok((await verifyImage(image, card)).ok, 'trailing card bytes do not matter');
  const fd = openSync(card, 'r+');
  writeSync(fd, Buffer.from([data[4_000_000]! ^ 0xff]), 0, 1, 4_000_000);
  closeSync(fd);
  const v = await verifyImage(image, card);
  assert.not.ok(v.ok);
  assert.is.not(v.imageSha256, v.targetSha256);
});

test('a target shorter than the image fails verification with a clear error', async () => {
  const card = join(work, 'short.bin');
  writeFileSync(card, data.subarray(0, 1024));
  await verifyImage(image, card).then(
    () => assert.unreachable('short'),
    (e) => assert.match((e as Error).message, /shorter than/),
  );
});

test('rewriting a used card replaces its start and keeps nothing of the old image there', async () => {
  const card = join(work, 'used.bin');
  writeFileSync(card, Buffer.alloc(data.length, 0x55));
  await writeImage(image, card);
  assert.is(statSync(card).size, data.length);
  assert.is(await hashPrefix(card, data.length), await hashPrefix(image, data.length));
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
