// What a command contributed by an area (monitor, image; registered in device/cli/extra-commands.ts)
// is given by the `hearth` program.
import type { Logger } from '../core/log.ts';

export interface CliContext {
  log: Logger;
}
