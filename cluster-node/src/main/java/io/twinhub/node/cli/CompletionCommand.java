package io.twinhub.node.cli;

import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/**
 * {@code ./twinhub completion}: the bash/zsh completion script picocli generates from the command
 * tree itself, so it always knows every command and flag.
 */
@Command(name = "completion", description = {
    "Print a bash/zsh completion script for ./twinhub (generated from the commands themselves).",
    "bash: source <(./twinhub completion)    zsh: autoload -U +X bashcompinit && bashcompinit && source <(./twinhub completion)"})
public final class CompletionCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    CommandLine root = spec.root().commandLine();
    spec.commandLine().getOut().print(AutoComplete.bash("twinhub", root));
    spec.commandLine().getOut().flush();
    return 0;
  }
}
