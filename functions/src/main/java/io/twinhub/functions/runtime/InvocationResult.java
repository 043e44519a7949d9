package io.twinhub.functions.runtime;

import java.util.List;

/**
 * The outcome of one invocation.
 *
 * @param error        the exception's class and message when it failed, else null
 * @param logs         what the function wrote to {@code ExecutionContext.getLogger()}, one line each
 * @param returnValue  the method's return value (an {@code HttpResponseMessage} for HTTP functions)
 * @param outputs      values set on output bindings, in parameter order, then the return value's binding
 */
public record InvocationResult(String invocationId, String function, boolean succeeded, long durationMicros, String error,
                               List<String> logs, Object returnValue, List<OutputValue> outputs) {

  public record OutputValue(FunctionDefinition.Output binding, Object value) {}

  public String status() {
    return succeeded ? "Succeeded" : "Failed";
  }
}
