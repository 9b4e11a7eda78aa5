/** Where a command writes: results to `out`, progress and errors to `err`. */
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
}

/**
 * One `trellis` command. Each lives in a file of its own and is listed in `commands.ts`;
 * `main.ts` only finds the command, handles `--help`, `--version` and errors, and exits with
 * what `run` returns.
 */
export interface Command {
  /** The word after `trellis`. */
  readonly name: string;
  /** One line for `trellis --help`. */
  readonly summary: string;
  /** The whole text of `trellis <name> --help`. */
  readonly help: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(args: readonly string[], io: CliIO): Promise<number>;
}

/**
 * Exit codes scripts can rely on (docs/cli.md). A run's outcome maps onto the first six; a
 * second Ctrl-C exits at once with 130, as shells expect of SIGINT.
 */
export const EXIT = {
  completed: 0,
  failed: 1,
  usage: 2,
  paused: 3,
  rejected: 4,
  cancelled: 5,
  interrupted: 130,
} as const;
