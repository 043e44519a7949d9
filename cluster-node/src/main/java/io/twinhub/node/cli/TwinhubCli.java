package io.twinhub.node.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * {@code ./twinhub}: the one entry point of every command. Each command is a subcommand class in
 * this package; options shared by several commands are mixins ({@link NodeOptions},
 * {@link ApiOptions}, {@link OutputOptions}), so a flag means the same everywhere. Exit codes: 0 done,
 * 1 failed (the hub refused, a node is unreachable, ...), 2 usage error (picocli's
 * {@link CommandLine.ExitCode#USAGE}); a usage error names the bad flag.
 */
@Command(name = "twinhub", mixinStandardHelpOptions = true, versionProvider = TwinhubCli.Version.class,
    description = "An event-sourced device-twin hub that speaks Azure IoT Hub's wire protocol.",
    subcommands = {
        RunCommand.class,
        ClusterCommand.class,
        EdgeCommand.class,
        DeviceCommand.class,
        TwinCommand.class,
        QueryCommand.class,
        JobCommand.class,
        FunctionsCommand.class,
        DeploymentCommand.class,
        KafkaCommand.class,
        ExportCommand.class,
        ReindexCommand.class,
        BenchCommand.class,
        CassandraCommand.class,
        CompletionCommand.class,
        DocsCommand.class,
        CommandLine.HelpCommand.class},
    commandListHeading = "%nCommands:%n",
    footer = {"", "Run ./twinhub help <command> for a command's options. Exit codes: 0 ok, 1 failure, 2 usage error."})
public final class TwinhubCli implements Runnable {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    keepIdleHttpConnectionsUnderServerIdle();
    int code = commandLine().execute(args);
    // Commands that keep running (a node) return from execute with their work in other threads.
    if (code != RunCommand.KEEP_RUNNING) System.exit(code);
  }

  /**
   * The JDK 17 HttpClient keeps an idle connection 1,200 s; our REST API (Akka HTTP) aborts one idle
   * for 60 s, and a POST sent on a connection just as it is aborted fails ("header parser received
   * no bytes") without a retry. The CLI, the edge runtime (module identities, leaf devices) and the
   * node's own clients run in this JVM: their idle connections go after 30 s (JDK 20's default).
   * Read once by the JDK's connection pool, so it must be set before any client exists; a value the
   * user gave wins.
   */
  static void keepIdleHttpConnectionsUnderServerIdle() {
    if (System.getProperty(HTTP_KEEPALIVE_PROPERTY) == null) System.setProperty(HTTP_KEEPALIVE_PROPERTY, "30");
  }

  static final String HTTP_KEEPALIVE_PROPERTY = "jdk.httpclient.keepalive.timeout";

  /** The command tree with twinhub's defaults, error handling and exit codes. */
  public static CommandLine commandLine() {
    return commandLine(ConfigDefaults.fromApplicationConf());
  }

  /** The same with defaults from elsewhere (docs/CLI.md shows application.conf's, not this machine's environment). */
  static CommandLine commandLine(ConfigDefaults defaults) {
    CommandLine cli = new CommandLine(new TwinhubCli());
    cli.setDefaultValueProvider(defaults);
    // A flag given twice: the last one wins, as launchers that append to a base command line expect.
    cli.setOverwrittenOptionsAllowed(true);
    cli.setExecutionExceptionHandler(TwinhubCli::failure);
    cli.setParameterExceptionHandler(TwinhubCli::usageError);
    return cli;
  }

  /** No command: the overview. */
  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** "twinhub device: unknown option '--bogus'" + the command's usage, exit 2. */
  private static int usageError(CommandLine.ParameterException e, String[] args) {
    CommandLine cmd = e.getCommandLine();
    PrintWriter err = cmd.getErr();
    err.println(name(cmd) + ": " + e.getMessage());
    CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
    err.println("Run ./twinhub help " + cmd.getCommandSpec().qualifiedName(" ").replaceFirst("^twinhub ?", "") + " for its usage.");
    err.flush();
    return cmd.getCommandSpec().exitCodeOnInvalidInput();
  }

  /**
   * A command's failure: one line naming what went wrong, exit 1. {@link IllegalArgumentException}
   * from a command's own checks (a value picocli could not judge, e.g. a bad config value) is a usage
   * error, exit 2. Stack traces only where the cause is not a known one.
   */
  private static int failure(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
    PrintWriter err = cmd.getErr();
    if (e instanceof IllegalArgumentException) {
      err.println(name(cmd) + ": " + e.getMessage());
      err.flush();
      return CommandLine.ExitCode.USAGE;
    }
    if (e instanceof CommandFailure || e instanceof IllegalStateException || e instanceof java.io.IOException) {
      err.println(name(cmd) + ": " + e.getMessage());
    } else {
      err.println(name(cmd) + ": " + e);
      e.printStackTrace(err);
    }
    err.flush();
    return CommandLine.ExitCode.SOFTWARE;
  }

  private static String name(CommandLine cmd) {
    return cmd.getCommandSpec().qualifiedName(" ");
  }

  /** A command's expected failure (the hub refused, nothing answers): its message is the whole story. */
  public static final class CommandFailure extends RuntimeException {
    public CommandFailure(String message) {
      super(message);
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = TwinhubCli.class.getPackage().getImplementationVersion();
      return new String[] {"twinhub " + (v == null ? "(built from source)" : v)};
    }
  }
}
