import type { Command } from 'commander';
import type { Io } from '../output.ts';

interface Node {
  path: string[];
  options: string[];
  subcommands: string[];
}

function walk(cmd: Command, path: string[] = []): Node[] {
  const subs = cmd.commands as Command[];
  const node: Node = {
    path,
    options: cmd.options.map((o) => o.long ?? o.short ?? '').filter(Boolean),
    subcommands: subs.map((c) => c.name()),
  };
  return [node, ...subs.flatMap((c) => walk(c, [...path, c.name()]))];
}

/** A bash completion script generated from the live command tree, so it never drifts. */
export function bashCompletion(program: Command): string {
  const cases = walk(program)
    .map((n) => `    "${n.path.join(' ')}") words="${[...n.subcommands, ...n.options, '--help'].join(' ')}" ;;`)
    .join('\n');
  return `# countersign bash completion. Load with: source <(countersign completion bash)
_countersign() {
  local cur path="" words=""
  cur="\${COMP_WORDS[COMP_CWORD]}"
  local i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) path="\${path:+$path }\${COMP_WORDS[i]}" ;; esac
  done
  while :; do
    case "$path" in
${cases}
      *) if [[ "$path" == *" "* ]]; then path="\${path% *}"; continue; else path=""; continue; fi ;;
    esac
    break
  done
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _countersign countersign
`;
}

export function registerCompletion(program: Command, io: Io): void {
  program
    .command('completion')
    .description('Print a shell completion script.')
    .argument('<shell>', 'bash (zsh can load it through bashcompinit)')
    .addHelpText(
      'after',
      '\nExamples:\n  source <(countersign completion bash)\n  countersign completion bash > /etc/bash_completion.d/countersign\n',
    )
    .action((shell: string) => {
      if (shell !== 'bash') {
        io.err(`error: only bash is supported (zsh: autoload -U bashcompinit && bashcompinit, then source the bash script)`);
        process.exitCode = 2;
        return;
      }
      io.out(bashCompletion(program));
    });
}
