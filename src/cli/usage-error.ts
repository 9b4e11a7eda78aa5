import { TrellisError } from "../errors.js";

/**
 * A command was called wrongly: an unknown option, a missing argument, a value of the wrong
 * form. `trellis` prints it with the command's usage line and exits 2.
 */
export class UsageError extends TrellisError {
  /** The command it concerns (`run`, `send`, …), or `undefined` for `trellis` itself. */
  readonly command: string | undefined;
  constructor(command: string | undefined, detail: string) {
    super(
      "CLI_USAGE",
      `${detail}. See \`trellis ${command === undefined ? "" : `${command} `}--help\`.`,
    );
    this.name = "UsageError";
    this.command = command;
  }
}
