/**
 * Quotes one argument for a POSIX shell, so a printed command can be pasted as it is: plain
 * words stay as they are, anything else is single-quoted.
 */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A command line with every argument quoted. */
export function commandLine(args: readonly string[]): string {
  return args.map(shellQuote).join(" ");
}
