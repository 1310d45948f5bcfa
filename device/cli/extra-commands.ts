// Commands contributed by the areas (monitor, image and flash). Each area exports a register
// function; they are listed here once so the bundle includes them.
import type { Command } from 'commander';
import type { CliContext } from '../tools/cli-context.ts';
import { registerMonitorCommands } from '../monitor/cli.ts';
import { registerImageCommands } from '../image/cli.ts';

export type { CliContext };

export function registerExtraCommands(program: Command, ctx: CliContext): void {
  registerMonitorCommands(program, ctx);
  registerImageCommands(program, ctx);
}
