// CLI: `hearth image build`, `hearth image provision IMAGE --config FILE`, `hearth flash IMAGE
// DEVICE`, `hearth firstboot`. The lead wires registerImageCommands into device/cli/main.ts.
import { resolve, join } from 'node:path';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { Option, type Command } from 'commander';
import type { Logger } from '../core/log.ts';
import { CliError } from '../tools/broker-options.ts';
import { DAC_CHOICES, imagesDir, type Dac } from './boot-config.ts';
import { loadProvisioningFile, provisionTarget } from './provision.ts';
import { inspectTarget, refusals, describeTarget, writeImage, verifyImage, progressLine, type WriteProgress } from './flash.ts';

export interface ImageCliContext {
  log: Logger;
}

export function registerImageCommands(program: Command, ctx: ImageCliContext): void {
  const image = program.command('image').description('build an SD card image, or provision one (see docs/images.md)');

  image
    .command('build')
    .description('build the Debian 13 arm64 image for Raspberry Pi 3/4 (needs root; minutes cold, the base is cached)')
    .addOption(new Option('--dac <dac>', 'audio board').choices([...DAC_CHOICES]).default('hifiberry-dac'))
    .option('-o, --out <file>', 'image file to write', 'hearth.img')
    .option('--config <file>', 'put this hearth.json on the boot partition (one image per device)')
    .option('--cache <dir>', 'cache folder (base root filesystem)', '')
    .option('--no-runtime-build', 'use the dist/ that is there instead of running scripts/build.mjs')
    .option('--dist <dir>', 'take the runtime bundle (hearth.js, console/) from this folder')
    .option('--rebuild-base', 'rebuild the cached base root filesystem', false)
    .action(
      async (o: { dac: Dac; out: string; config?: string; cache: string; runtimeBuild: boolean; dist?: string; rebuildBase: boolean }) => {
        const { buildImage } = await import('./build.ts');
        const repo = join(imagesDir(), '..');
        const provisioning = o.config ? await loadProvisioningFile(o.config).catch(fail) : undefined;
        const t0 = performance.now();
        const r = await buildImage({
          repo: process.env.HEARTH_REPO ?? repo,
          out: resolve(o.out),
          dac: o.dac,
          log: ctx.log,
          provisioning,
          cacheDir: o.cache || undefined,
          noRuntimeBuild: !o.runtimeBuild,
          distDir: o.dist ? resolve(o.dist) : undefined,
          rebuildBase: o.rebuildBase,
        }).catch(fail);
        console.log(
          `\n${r.image}: ${(r.bytes / 2 ** 20).toFixed(0)} MiB, kernel ${r.kernel}, DAC ${o.dac}, base ${r.baseCached ? 'cached' : 'built'} (${r.baseKey})`,
        );
        for (const [name, ms] of r.steps) console.log(`  ${(ms / 1000).toFixed(1).padStart(7)} s  ${name}`);
        console.log(`  ${((performance.now() - t0) / 1000).toFixed(1).padStart(7)} s  total`);
        console.log(`next: hearth image provision ${o.out} --config hearth.json   (per device), then hearth flash ${o.out} /dev/sdX`);
      },
    );

  image
    .command('provision <image>')
    .description('write (or replace) hearth.json in the boot partition of an image file or card, without root')
    .requiredOption('--config <file>', 'the provisioning file (see docs/images.md)')
    .action(async (target: string, o: { config: string }) => {
      const p = await loadProvisioningFile(o.config).catch(fail);
      const r = await provisionTarget(target, p, ctx.log).catch(fail);
      console.log(`${target}: hearth.json written (${r.bytes} bytes in the boot partition at byte ${r.offset})`);
    });

  program
    .command('flash <image> <device>')
    .description('write an image to an SD card (checks the target, asks, writes, verifies by read-back)')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .option('--force', 'allow a disk that does not report itself removable', false)
    .option('--config <file>', "then write this hearth.json to the card's boot partition")
    .action(async (img: string, device: string, o: { yes: boolean; force: boolean; config?: string }) => {
      const provisioning = o.config ? await loadProvisioningFile(o.config).catch(fail) : undefined;
      const size = (await stat(img).catch(() => fail(new Error(`cannot read ${img}`)))).size;
      const t = await inspectTarget(device);
      console.log(describeTarget(t));
      const no = refusals(t, size, o.force);
      if (no.length) throw new CliError(`refusing to write ${device}:\n${no.map((x) => `  - ${x}`).join('\n')}`);
      if (!o.yes) {
        if (!process.stdin.isTTY) throw new CliError('no terminal to confirm on; add --yes');
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        const answer = await rl.question(`Everything on ${device} will be lost. Type "yes" to write ${img}: `);
        rl.close();
        if (answer.trim() !== 'yes') throw new CliError('not written');
      }
      const bar = progressPrinter();
      const w = await writeImage(img, device, { onProgress: bar }).catch(fail);
      process.stderr.write('\n');
      console.log(
        `written ${(w.bytes / 2 ** 20).toFixed(0)} MiB in ${(w.ms / 1000).toFixed(1)} s (${(w.bytes / 2 ** 20 / (w.ms / 1000)).toFixed(1)} MiB/s), synced`,
      );
      const v = await verifyImage(img, device, { onProgress: bar }).catch(fail);
      process.stderr.write('\n');
      if (!v.ok) throw new CliError(`verify FAILED: image sha256 ${v.imageSha256}, card ${v.targetSha256}; the card may be faulty`);
      console.log(`verified: sha256 ${v.imageSha256}`);
      if (provisioning) {
        await provisionTarget(device, provisioning, ctx.log).catch(fail);
        console.log(`hearth.json written to ${device}`);
      }
    });

  program
    .command('grow-root')
    .description('grow the root partition and filesystem to the end of the card (run once by hearth-growroot.service)')
    .action(async () => {
      const { growRoot } = await import('./grow-root.ts');
      const r = await growRoot(ctx.log).catch(fail);
      console.log(r.grown ? `root ${r.partition} grown from ${r.fromMiB} MiB to ${r.toMiB} MiB` : `root not grown: ${r.why}`);
    });

  program
    .command('firstboot')
    .description("import the boot partition's hearth.json into this device (run by hearth-firstboot.service)")
    .option('--file <file>', 'provisioning file', '/boot/firmware/hearth.json')
    .option('--state-dir <dir>', 'runtime state directory', '/var/lib/hearth')
    .action(async (o: { file: string; stateDir: string }) => {
      const { runFirstboot } = await import('./firstboot.ts');
      const r = await runFirstboot({ file: o.file, stateDir: o.stateDir, log: ctx.log }).catch(fail);
      if (r.outcome === 'imported') console.log(`imported: device ${r.id}, config revision ${r.revision}, host name ${r.hostname}`);
    });
}

/** Every failure leaves as one CliError: main.ts prints its message, no stack trace. */
function fail(e: unknown): never {
  throw e instanceof CliError ? e : new CliError((e as Error).message);
}

function progressPrinter(): (p: WriteProgress) => void {
  let last = 0;
  return (p) => {
    const t = performance.now();
    if (t - last < 200 && p.done < p.total) return;
    last = t;
    process.stderr.write(`\r${p.phase === 'write' ? 'write ' : 'verify'} ${progressLine(p.done, p.total, p.elapsedMs)}   `);
  };
}
