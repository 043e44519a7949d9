package io.twinhub.node.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;
import picocli.CommandLine;

import java.util.function.Supplier;

/**
 * Defaults of options that stand for a config key (their {@code descriptionKey}, e.g.
 * {@code twinhub.http.port}): the value application.conf resolves to, TWINHUB_* variables and
 * {@code -D} properties included. So help shows what a node would really use, and the default
 * lives in one place, application.conf.
 */
final class ConfigDefaults implements CommandLine.IDefaultValueProvider {
  private final Supplier<Config> config;
  private Config loaded;

  ConfigDefaults(Supplier<Config> config) {
    this.config = config;
  }

  static ConfigDefaults fromApplicationConf() {
    return new ConfigDefaults(ConfigFactory::load);
  }

  /** application.conf as shipped: no TWINHUB_* variables, no -D properties (for docs/CLI.md). */
  static ConfigDefaults withoutEnvironment() {
    return new ConfigDefaults(() -> ConfigFactory.parseResourcesAnySyntax("application")
        .withFallback(ConfigFactory.defaultReference())
        .resolve(com.typesafe.config.ConfigResolveOptions.defaults().setUseSystemEnvironment(false)));
  }

  @Override
  public String defaultValue(CommandLine.Model.ArgSpec argSpec) {
    if (!(argSpec instanceof CommandLine.Model.OptionSpec option) || !isConfigKey(option.descriptionKey())) {
      return null;
    }
    if (loaded == null) loaded = config.get();
    if (!loaded.hasPath(option.descriptionKey())) return null;
    ConfigValue v = loaded.getValue(option.descriptionKey());
    Object unwrapped = v.unwrapped();
    return unwrapped instanceof java.util.List<?> list
        ? String.join(",", list.stream().map(String::valueOf).toList())
        : String.valueOf(unwrapped);
  }

  static boolean isConfigKey(String key) {
    return key != null && (key.startsWith("twinhub.") || key.startsWith("akka.") || key.startsWith("datastax-java-driver."));
  }
}
