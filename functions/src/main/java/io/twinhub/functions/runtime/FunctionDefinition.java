package io.twinhub.functions.runtime;

import java.lang.reflect.Method;
import java.lang.reflect.Type;
import java.time.Duration;
import java.util.List;

/**
 * One {@code @FunctionName} method of an app: its trigger, how each parameter is bound, where its
 * return value goes, and how often a failed invocation is retried.
 *
 * @param returnOutput the output binding of the return value ({@code $return}), null when none
 */
public record FunctionDefinition(String name, String className, Method method, Trigger trigger, List<Param> params,
                                 Output returnOutput, RetryPolicy retry) {

  /** How one parameter gets its value. */
  public sealed interface Param {}

  /** The trigger's payload, converted to {@code type}. */
  public record TriggerValue(Type type) implements Param {}

  /** {@code ExecutionContext}. */
  public record Context() implements Param {}

  /** {@code @BindingName}: trigger metadata (route and query values, Properties, SystemProperties, ...). */
  public record BindingValue(String name, Type type) implements Param {}

  /** {@code OutputBinding<T>} of an output binding. */
  public record OutputParam(Output output, Type valueType) implements Param {}

  /**
   * An output binding twinhub carries out after the function returned.
   *
   * @param kind   {@code twinPatch} (a twin merge patch: {@code {"deviceId", "moduleId"?, "tags"?, "properties":{"desired"}?}}),
   *               {@code eventHub} ({@code @EventHubOutput}: messages to the route {@code target})
   *               or {@code http} (the HTTP response)
   * @param target the route an {@code eventHub} output writes to (its {@code eventHubName}, {@code %Setting%} resolved); else null
   */
  public record Output(String name, String kind, String target) {
    public Output(String name, String kind) {
      this(name, kind, null);
    }
  }

  /**
   * Retries of a failed invocation before it counts as poison: from {@code @FixedDelayRetry} /
   * {@code @ExponentialBackoffRetry}, else twinhub's default for event triggers.
   */
  public record RetryPolicy(int maxRetries, Duration minDelay, Duration maxDelay, boolean exponential) {
    public static final RetryPolicy DEFAULT = new RetryPolicy(3, Duration.ofMillis(200), Duration.ofSeconds(5), true);

    public Duration delay(int retry) {
      if (!exponential) return minDelay;
      long ms = minDelay.toMillis() << Math.min(20, Math.max(0, retry - 1));
      return Duration.ofMillis(Math.min(ms, maxDelay.toMillis()));
    }
  }
}
