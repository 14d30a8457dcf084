import { type ParseArgsConfig, parseArgs } from "node:util";

/** Wrong arguments: the message says which, the command exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export function parseCommandArgs<T extends NonNullable<ParseArgsConfig["options"]>>(
  argv: string[],
  options: T,
  help: string,
) {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
      // In order, for options that pair with the one before (petgate sim --user NAME --password-env VAR).
      tokens: true,
    });
    if ((parsed.values as { help?: boolean }).help) {
      process.stdout.write(`${help}\n`);
      process.exit(0);
    }
    return parsed;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${help}`);
  }
}

/**
 * The subcommand `argv` starts with, one of `known`, and the arguments after it; undefined once
 * `help` is printed for --help or -h. Anything else is a UsageError naming it.
 */
export function subcommand<S extends string>(
  argv: readonly string[],
  known: readonly S[],
  help: string,
): { sub: S; rest: string[] } | undefined {
  const [sub, ...rest] = argv;
  if (sub === "--help" || sub === "-h") {
    process.stdout.write(`${help}\n`);
    return undefined;
  }
  if (!known.includes(sub as S))
    throw new UsageError(`unknown subcommand ${JSON.stringify(sub ?? "")}\n${help}`);
  return { sub: sub as S, rest };
}
