// `hearth image provision IMAGE --config hearth.json`: writes (or replaces) the provisioning file
// in the boot partition of an image file or a flashed card, without rebuilding and without root:
// mtools writes into the FAT at the partition's offset. The file is validated first (the device
// validates again on first boot), so a typo is caught on the PC, not on a headless Pi.
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseProvisioning, PROVISIONING_FILE } from '../../protocol/provisioning.ts';
import { ProtocolError } from '../../protocol/envelope.ts';
import { run } from './exec.ts';
import { readPartitionTable, bootPartition, mtoolsTarget, MTOOLS_ENV } from './partitions.ts';
import { ERROR_FILE } from './firstboot.ts';
import type { Logger } from '../core/log.ts';

export class ProvisionError extends Error {
  constructor(
    message: string,
    readonly details: Array<{ path: string; message: string }> = [],
  ) {
    super(message);
    this.name = 'ProvisionError';
  }
}

/** Reads and validates a provisioning file on this machine; returns its parsed JSON. */
export async function loadProvisioningFile(file: string): Promise<Record<string, unknown>> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new ProvisionError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    parseProvisioning(raw);
  } catch (e) {
    if (e instanceof ProtocolError) {
      const details = e.details ?? [];
      throw new ProvisionError(
        `${file} is not a valid ${PROVISIONING_FILE}:\n${details.map((d) => `  ${d.path || '/'}: ${d.message}`).join('\n')}`,
        details,
      );
    }
    throw e;
  }
  if ((raw as { imported?: unknown }).imported !== undefined) {
    throw new ProvisionError(
      `${file} is marked imported (a device's rewritten copy, without secrets); remove "imported" and put the secrets back`,
    );
  }
  return raw as Record<string, unknown>;
}

/**
 * Writes `provisioning` as hearth.json into the boot partition of `target` (image file or disk),
 * replacing any earlier one and removing an old hearth-error.txt; reads it back to check.
 */
export async function provisionTarget(
  target: string,
  provisioning: Record<string, unknown>,
  log: Logger,
): Promise<{ offset: number; bytes: number }> {
  const part = bootPartition(await readPartitionTable(target));
  const img = mtoolsTarget(target, part);
  const text = JSON.stringify(provisioning, null, 2) + '\n';
  const dir = await mkdtemp(join(tmpdir(), 'hearth-provision-'));
  try {
    const tmp = join(dir, PROVISIONING_FILE);
    await writeFile(tmp, text, { mode: 0o600 });
    await run('mcopy', ['-o', '-i', img, tmp, `::/${PROVISIONING_FILE}`], { env: MTOOLS_ENV });
    await run('mdel', ['-i', img, `::/${ERROR_FILE}`], { env: MTOOLS_ENV }).catch(() => {});
    const back = (await run('mtype', ['-i', img, `::/${PROVISIONING_FILE}`], { env: MTOOLS_ENV })).stdout;
    if (back !== text) throw new ProvisionError(`read-back of ${PROVISIONING_FILE} on ${target} does not match what was written`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const id = (provisioning.config as { id?: string } | undefined)?.id;
  log.info(`${PROVISIONING_FILE} for device ${id ?? '?'} written to ${target} (boot partition at byte ${part.start})`);
  return { offset: part.start, bytes: Buffer.byteLength(text) };
}

/** Reads hearth.json from an image's boot partition (undefined when there is none). */
export async function readProvisioningFrom(target: string): Promise<string | undefined> {
  const img = mtoolsTarget(target, bootPartition(await readPartitionTable(target)));
  try {
    return (await run('mtype', ['-i', img, `::/${PROVISIONING_FILE}`], { env: MTOOLS_ENV })).stdout;
  } catch {
    return undefined;
  }
}
