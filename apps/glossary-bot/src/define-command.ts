/** A `!define <term>` command: the term asked for, trimmed and lower-cased. */
export interface DefineCommand {
  readonly term: string;
}

/** The command in a message body, or undefined when it is not one (`!define` then a term). */
export function parseDefineCommand(body: string): DefineCommand | undefined {
  const match = /^\s*!define\s+(\S(?:.*\S)?)\s*$/iu.exec(body);
  return match ? { term: match[1]!.toLowerCase() } : undefined;
}

/** The answer to a command from a glossary (terms in lower case). */
export function answer(command: DefineCommand, glossary: ReadonlyMap<string, string>): string {
  const definition = glossary.get(command.term);
  return definition === undefined
    ? `I don't know "${command.term}" yet.`
    : `${command.term}: ${definition}`;
}
