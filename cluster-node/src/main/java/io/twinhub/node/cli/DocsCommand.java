package io.twinhub.node.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code ./twinhub docs}: the command reference (docs/CLI.md) written from the same definitions
 * the parser uses; a test keeps the checked-in file equal to it.
 */
@Command(name = "docs", hidden = true, description = "Print the command reference (docs/CLI.md) in Markdown.")
public final class DocsCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().getOut().print(markdown(TwinhubCli.commandLine(ConfigDefaults.withoutEnvironment())));
    spec.commandLine().getOut().flush();
    return 0;
  }

  /** Every visible command's usage help, in tree order. */
  public static String markdown(CommandLine root) {
    StringBuilder md = new StringBuilder();
    md.append("# ./twinhub command reference\n\n")
        .append("Generated from the command definitions (`./twinhub docs > docs/CLI.md`); `TwinhubCliTest` keeps this file in step.\n")
        .append("Exit codes: 0 ok, 1 failure (the hub refused, nothing answered), 2 usage error.\n")
        .append("Bash/zsh completion: `source <(./twinhub completion)` (zsh: `autoload -U +X bashcompinit && bashcompinit` first).\n\n");
    for (CommandLine c : commands(root)) {
      CommandSpec s = c.getCommandSpec();
      md.append("#".repeat(Math.min(4, depth(s) + 2))).append(" `").append(s.qualifiedName(" ")).append("`\n\n");
      md.append("```\n").append(usage(c).stripTrailing()).append("\n```\n\n");
    }
    return md.toString();
  }

  static List<CommandLine> commands(CommandLine root) {
    List<CommandLine> all = new ArrayList<>();
    all.add(root);
    for (Map.Entry<String, CommandLine> e : root.getSubcommands().entrySet()) {
      CommandSpec s = e.getValue().getCommandSpec();
      // Aliases appear once, help subcommands not at all, hidden commands neither.
      if (!e.getKey().equals(s.name()) || s.usageMessage().hidden() || s.helpCommand()) continue;
      all.addAll(commands(e.getValue()));
    }
    return all;
  }

  private static int depth(CommandSpec s) {
    int d = 0;
    for (CommandSpec p = s.parent(); p != null; p = p.parent()) d++;
    return d;
  }

  /** Usage help without terminal colours and at a fixed width, so the file is the same on every machine. */
  private static String usage(CommandLine c) {
    java.io.StringWriter w = new java.io.StringWriter();
    c.usage(new java.io.PrintWriter(w), CommandLine.Help.Ansi.OFF);
    return w.toString();
  }
}
