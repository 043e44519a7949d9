package io.twinhub.functions.runtime;

import com.fasterxml.jackson.databind.JavaType;
import com.microsoft.azure.functions.ExecutionContext;
import com.microsoft.azure.functions.OutputBinding;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * One invocation: binds the trigger's input to the method's parameters (String, byte[], a POJO
 * from JSON, arrays and lists of those for batches, {@code HttpRequestMessage<T>},
 * {@code @BindingName} metadata, {@code ExecutionContext}, {@code OutputBinding<T>}), calls the
 * method with the app's class loader as context loader, and collects logs and outputs. A
 * function that throws (or cannot be bound) is a failed result, never an exception here.
 */
final class Invoker {
  private Invoker() {}

  static InvocationResult invoke(FunctionApp app, FunctionDefinition f, InvocationInput input, String invocationId) {
    long t0 = System.nanoTime();
    List<String> logs = Collections.synchronizedList(new ArrayList<>());
    List<InvocationResult.OutputValue> outputs = new ArrayList<>();
    Thread thread = Thread.currentThread();
    ClassLoader previous = thread.getContextClassLoader();
    Object returned = null;
    String error = null;
    List<String> outer = LOG.get();
    LOG.set(logs);
    try {
      List<Binding> outputsSet = new ArrayList<>();
      Object[] args = new Object[f.params().size()];
      for (int i = 0; i < args.length; i++) {
        FunctionDefinition.Param p = f.params().get(i);
        try {
          args[i] = bind(app, f, p, input, invocationId, logs, outputsSet);
        } catch (RuntimeException e) {
          throw new BindingException("cannot bind parameter " + f.method().getParameters()[i].getName() + ": "
              + rootMessage(e), e);
        }
      }
      thread.setContextClassLoader(app.classLoader());
      returned = f.method().invoke(app.instanceFor(f.method()), args);
      for (Binding b : outputsSet) if (b.value != null) outputs.add(new InvocationResult.OutputValue(b.output, b.value));
      if (f.returnOutput() != null && returned != null) outputs.add(new InvocationResult.OutputValue(f.returnOutput(), returned));
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      error = cause.getClass().getName() + ": " + cause.getMessage();
      logs.add("ERROR " + error + at(cause));
    } catch (BindingException e) {
      error = e.getMessage();
    } catch (Throwable e) { // incl. OutOfMemoryError and LinkageError inside the app: the invocation fails, not the host
      error = e.getClass().getName() + ": " + e.getMessage();
    } finally {
      thread.setContextClassLoader(previous);
      LOG.set(outer);
    }
    long micros = (System.nanoTime() - t0) / 1000;
    return new InvocationResult(invocationId, f.name(), error == null, micros, error, List.copyOf(logs), returned,
        List.copyOf(outputs));
  }

  private static String at(Throwable t) {
    StackTraceElement[] st = t.getStackTrace();
    return st.length == 0 ? "" : " at " + st[0];
  }

  private static Object bind(FunctionApp app, FunctionDefinition f, FunctionDefinition.Param p, InvocationInput input,
                             String invocationId, List<String> logs, List<Binding> outputs) {
    if (p instanceof FunctionDefinition.Context) return new Context(invocationId, f.name(), app.loggerFor(f.name()));
    if (p instanceof FunctionDefinition.OutputParam o) {
      Binding b = new Binding(o.output());
      outputs.add(b);
      return b;
    }
    if (p instanceof FunctionDefinition.BindingValue b) {
      Object value = "AppSettings".equals(b.name()) ? app.settings() : metadata(input).get(b.name());
      if (value == null) return defaultOf(FunctionApp.rawClass(b.type()));
      return convertValue(app, value, b.type());
    }
    Type type = ((FunctionDefinition.TriggerValue) p).type();
    if (input instanceof InvocationInput.Http h) return httpRequest(app, h, type);
    if (input instanceof InvocationInput.Timer t) return fromBytes(app, t.timerInfoJson().getBytes(StandardCharsets.UTF_8), type);
    List<InvocationInput.Event> events = ((InvocationInput.Events) input).events();
    if (!((Trigger.EventHub) f.trigger()).many()) return fromBytes(app, events.get(0).body(), type);
    Class<?> raw = FunctionApp.rawClass(type);
    if (raw == String.class) return jsonArray(app, events);
    if (raw.isArray()) {
      Class<?> element = raw.getComponentType();
      Object array = java.lang.reflect.Array.newInstance(element, events.size());
      for (int i = 0; i < events.size(); i++) java.lang.reflect.Array.set(array, i, fromBytes(app, events.get(i).body(), element));
      return array;
    }
    Type element = type instanceof ParameterizedType pt ? pt.getActualTypeArguments()[0] : String.class;
    List<Object> list = new ArrayList<>(events.size());
    for (InvocationInput.Event e : events) list.add(fromBytes(app, e.body(), element));
    return list;
  }

  /** A batch for a String parameter: a JSON array, each body as JSON when it is JSON, else as a string. */
  private static String jsonArray(FunctionApp app, List<InvocationInput.Event> events) {
    var array = app.json().createArrayNode();
    for (InvocationInput.Event e : events) {
      try {
        array.add(app.json().readTree(e.body()));
      } catch (java.io.IOException | RuntimeException notJson) {
        array.add(new String(e.body(), StandardCharsets.UTF_8));
      }
    }
    return array.toString();
  }

  /** What {@code @BindingName} can name, per trigger, as the Azure Functions host offers it. */
  private static Map<String, Object> metadata(InvocationInput input) {
    Map<String, Object> m = new LinkedHashMap<>();
    if (input instanceof InvocationInput.Http h) {
      m.putAll(h.query());
      m.putAll(h.routeParams());
      m.put("Headers", h.headers());
      m.put("Query", h.query());
    } else if (input instanceof InvocationInput.Events ev) {
      List<InvocationInput.Event> es = ev.events();
      InvocationInput.Event first = es.get(0);
      m.put("Properties", first.properties());
      m.put("SystemProperties", first.systemProperties());
      m.put("EnqueuedTimeUtc", first.enqueuedTime().toString());
      m.put("PropertiesArray", es.stream().map(InvocationInput.Event::properties).toList());
      m.put("SystemPropertiesArray", es.stream().map(InvocationInput.Event::systemProperties).toList());
      m.put("EnqueuedTimeUtcArray", es.stream().map(e -> e.enqueuedTime().toString()).toList());
    }
    return m;
  }

  private static Object httpRequest(FunctionApp app, InvocationInput.Http h, Type type) {
    Class<?> raw = FunctionApp.rawClass(type);
    if (!com.microsoft.azure.functions.HttpRequestMessage.class.isAssignableFrom(raw)) return fromBytes(app, h.body(), type);
    Type bodyType = type instanceof ParameterizedType pt ? pt.getActualTypeArguments()[0] : String.class;
    Object body = fromBytes(app, h.body(), bodyType);
    return new HttpMessages.Request<>(h.uri(), h.method(), h.headers(), h.query(), body);
  }

  /** A payload as {@code type}: String (UTF-8), byte[], Optional of those, or JSON into anything else. */
  static Object fromBytes(FunctionApp app, byte[] body, Type type) {
    Class<?> raw = FunctionApp.rawClass(type);
    if (raw == Optional.class) {
      Type inner = type instanceof ParameterizedType pt ? pt.getActualTypeArguments()[0] : String.class;
      return body == null || body.length == 0 ? Optional.empty() : Optional.ofNullable(fromBytes(app, body, inner));
    }
    if (raw == String.class || raw == Object.class) return body == null ? null : new String(body, StandardCharsets.UTF_8);
    if (raw == byte[].class) return body;
    if (body == null || body.length == 0) return null;
    try {
      JavaType jt = app.javaType(type);
      return app.json().readValue(body, jt);
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("the payload is not JSON of " + type.getTypeName() + " (" + e.getMessage() + ")", e);
    }
  }

  private static Object convertValue(FunctionApp app, Object value, Type type) {
    Class<?> raw = FunctionApp.rawClass(type);
    if (raw.isInstance(value) && !(type instanceof ParameterizedType)) return value;
    if (raw == String.class) return String.valueOf(value);
    if (value instanceof List<?> list && raw.isArray()) {
      Object array = java.lang.reflect.Array.newInstance(raw.getComponentType(), list.size());
      for (int i = 0; i < list.size(); i++) java.lang.reflect.Array.set(array, i, convertValue(app, list.get(i), raw.getComponentType()));
      return array;
    }
    if (raw.isInstance(value)) return value;
    return app.json().convertValue(value, app.javaType(type));
  }

  private static Object defaultOf(Class<?> c) {
    if (!c.isPrimitive()) return null;
    if (c == boolean.class) return false;
    if (c == char.class) return '\0';
    return app0(c);
  }

  private static Object app0(Class<?> c) {
    if (c == long.class) return 0L;
    if (c == double.class) return 0d;
    if (c == float.class) return 0f;
    if (c == short.class) return (short) 0;
    if (c == byte.class) return (byte) 0;
    return 0;
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) t = t.getCause();
    return t.getMessage() != null ? t.getMessage() : t.toString();
  }

  private static final class BindingException extends RuntimeException {
    BindingException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** {@code OutputBinding<T>}: the function sets a value, the host carries it out after the function returned. */
  static final class Binding implements OutputBinding<Object> {
    final FunctionDefinition.Output output;
    volatile Object value;

    Binding(FunctionDefinition.Output output) {
      this.output = output;
    }

    @Override
    public Object getValue() {
      return value;
    }

    @Override
    public void setValue(Object v) {
      value = v;
    }
  }

  /**
   * The log of the invocation running on this thread. A function's logger is one per function
   * (creating a JUL logger per invocation registers it with the root logger, and the JDK prunes
   * those registrations in O(n): at thousands of invocations per second that dominated); its
   * handler writes to the current invocation's log. Lines logged from threads the function
   * started itself land in no invocation and are dropped.
   */
  static final ThreadLocal<List<String>> LOG = new ThreadLocal<>();

  private static final Formatter FORMAT = new Formatter() {
    @Override
    public String format(LogRecord r) {
      String msg = formatMessage(r);
      return r.getLevel().getName() + " " + msg + (r.getThrown() != null ? " " + r.getThrown() : "");
    }
  };

  /** A function's logger: never a parent handler (nothing reaches the node's log), lines into {@link #LOG}. */
  static Logger newFunctionLogger() {
    Logger logger = Logger.getAnonymousLogger();
    logger.setUseParentHandlers(false);
    logger.setLevel(Level.ALL);
    logger.addHandler(new Handler() {
      @Override
      public void publish(LogRecord record) {
        List<String> logs = LOG.get();
        if (logs != null && logs.size() < 1000) logs.add(Instant.ofEpochMilli(record.getMillis()) + " " + FORMAT.format(record));
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    });
    return logger;
  }

  /** {@code ExecutionContext}. */
  record Context(String invocationId, String functionName, Logger logger) implements ExecutionContext {
    @Override
    public Logger getLogger() {
      return logger;
    }

    @Override
    public String getInvocationId() {
      return invocationId;
    }

    @Override
    public String getFunctionName() {
      return functionName;
    }
  }
}
