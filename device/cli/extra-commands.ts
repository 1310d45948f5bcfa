// Commands contributed by the areas (monitor, image and flash, ...). Each area exports a
// register function; they are listed here once so the bundle includes them.
import type { Command } from 'commander';
import type { Logger } from '../core/log.ts';

export interface CliContext { log: Logger }

export function registerExtraCommands(_program: Command, _ctx: CliContext): void {
  // Areas are added as they land.
}
