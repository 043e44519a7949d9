package io.twinhub.functions.runtime;

import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.microsoft.azure.functions.ExecutionContext;
import com.microsoft.azure.functions.HttpMethod;
import com.microsoft.azure.functions.HttpRequestMessage;
import com.microsoft.azure.functions.OutputBinding;
import com.microsoft.azure.functions.annotation.BindingName;
import com.microsoft.azure.functions.annotation.Cardinality;
import com.microsoft.azure.functions.annotation.CustomBinding;
import com.microsoft.azure.functions.annotation.EventHubOutput;
import com.microsoft.azure.functions.annotation.EventHubTrigger;
import com.microsoft.azure.functions.annotation.ExponentialBackoffRetry;
import com.microsoft.azure.functions.annotation.FixedDelayRetry;
import com.microsoft.azure.functions.annotation.FunctionName;
import com.microsoft.azure.functions.annotation.HttpOutput;
import com.microsoft.azure.functions.annotation.HttpTrigger;
import com.microsoft.azure.functions.annotation.TimerTrigger;

import java.io.IOException;
import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * A loaded function app: its JAR in its own {@link AppClassLoader}, the {@code @FunctionName}
 * methods found in it, and the instances they are called on. Loading checks everything a publish
 * must refuse (no functions, two functions of one name, a trigger or binding twinhub does not
 * run, a parameter it cannot bind), so a bad app never reaches a worker.
 */
public final class FunctionApp implements AutoCloseable {
  private static final String ANNOTATIONS = "com.microsoft.azure.functions.annotation.";

  private final String name;
  private final int version;
  private final AppClassLoader loader;
  private final Map<String, FunctionDefinition> functions;
  private final Map<Class<?>, Object> instances = new HashMap<>();
  private final ObjectMapper json = new ObjectMapper();
  private final Map<String, java.util.logging.Logger> loggers = new java.util.concurrent.ConcurrentHashMap<>();
  private final Map<String, String> settings;

  private FunctionApp(String name, int version, AppClassLoader loader, Map<String, FunctionDefinition> functions,
                      Map<String, String> settings) {
    this.name = name;
    this.version = version;
    this.loader = loader;
    this.functions = functions;
    this.settings = settings;
  }

  /** Loads and checks the app in {@code jar}, without app settings. */
  public static FunctionApp load(String name, int version, Path jar) throws InvalidAppException {
    return load(name, version, jar, Map.of());
  }

  /**
   * Loads and checks the app in {@code jar}. {@code %Name%} in a binding's {@code eventHubName} is
   * resolved from {@code settings} here, as the Azure Functions host resolves binding expressions
   * when it indexes an app: a missing setting is a problem of the app. So a change of settings
   * means loading the app again (Azure restarts the app on a settings change too).
   */
  public static FunctionApp load(String name, int version, Path jar, Map<String, String> settings) throws InvalidAppException {
    AppClassLoader loader;
    try {
      loader = new AppClassLoader(name, jar.toUri().toURL(), FunctionApp.class.getClassLoader());
    } catch (IOException e) {
      throw new InvalidAppException(List.of("cannot read the JAR: " + e.getMessage()));
    }
    try {
      List<String> problems = new ArrayList<>();
      Map<String, FunctionDefinition> found = new LinkedHashMap<>();
      for (String className : classNames(jar)) {
        Class<?> c;
        try {
          c = Class.forName(className, false, loader);
        } catch (ClassNotFoundException | LinkageError e) {
          continue; // a class that cannot load (missing optional dependency) holds no function we could run anyway
        }
        Method[] methods;
        try {
          methods = c.getDeclaredMethods();
        } catch (LinkageError e) {
          continue;
        }
        Arrays.sort(methods, Comparator.comparing(Method::getName));
        for (Method m : methods) {
          FunctionName fn = m.getAnnotation(FunctionName.class);
          if (fn == null) continue;
          try {
            FunctionDefinition f = define(fn.value(), c, m, settings);
            if (found.putIfAbsent(f.name(), f) != null) problems.add("two functions are named '" + f.name() + "'");
          } catch (IllegalArgumentException e) {
            problems.add("function '" + fn.value() + "' (" + c.getName() + "." + m.getName() + "): " + e.getMessage());
          }
        }
      }
      if (found.isEmpty() && problems.isEmpty()) {
        problems.add("the JAR holds no function: no public method annotated @FunctionName "
            + "(com.microsoft.azure.functions.annotation.FunctionName)");
      }
      if (!problems.isEmpty()) throw new InvalidAppException(problems);
      return new FunctionApp(name, version, loader, Collections.unmodifiableMap(found), Map.copyOf(settings));
    } catch (InvalidAppException | RuntimeException e) {
      closeQuietly(loader);
      throw e;
    }
  }

  private static List<String> classNames(Path jar) throws InvalidAppException {
    try (JarFile f = new JarFile(jar.toFile())) {
      List<String> names = new ArrayList<>();
      for (JarEntry e : Collections.list(f.entries())) {
        String n = e.getName();
        if (n.endsWith(".class") && !n.startsWith("META-INF/") && !n.endsWith("module-info.class")) {
          names.add(n.substring(0, n.length() - 6).replace('/', '.'));
        }
      }
      return names;
    } catch (IOException e) {
      throw new InvalidAppException(List.of("not a JAR (" + e.getMessage() + ")"));
    }
  }

  private static FunctionDefinition define(String name, Class<?> c, Method m, Map<String, String> settings) {
    if (name == null || !name.matches("[A-Za-z][A-Za-z0-9_-]{0,127}")) {
      throw new IllegalArgumentException("the name must start with a letter and hold only letters, digits, '-' and '_'");
    }
    if (!Modifier.isPublic(m.getModifiers()) || !Modifier.isPublic(c.getModifiers())) {
      throw new IllegalArgumentException("the method and its class must be public");
    }
    if (!Modifier.isStatic(m.getModifiers())) {
      try {
        c.getConstructor();
      } catch (NoSuchMethodException e) {
        throw new IllegalArgumentException("class " + c.getName() + " needs a public no-argument constructor");
      }
    }
    Trigger trigger = null;
    List<FunctionDefinition.Param> params = new ArrayList<>();
    Parameter[] ps = m.getParameters();
    for (int i = 0; i < ps.length; i++) {
      Parameter p = ps[i];
      Type type = m.getGenericParameterTypes()[i];
      // Names only when compiled with -parameters; else the position.
      String label = p.isNamePresent() ? p.getName() : "#" + (i + 1);
      Trigger t = trigger(p, type, name, settings);
      if (t != null) {
        if (trigger != null) throw new IllegalArgumentException("more than one trigger");
        trigger = t;
        params.add(new FunctionDefinition.TriggerValue(type));
        continue;
      }
      if (p.getType() == ExecutionContext.class) {
        params.add(new FunctionDefinition.Context());
        continue;
      }
      CustomBinding custom = p.getAnnotation(CustomBinding.class);
      if (custom != null) {
        params.add(new FunctionDefinition.OutputParam(customOutput(custom, p.getName()), outputValueType(p, type)));
        continue;
      }
      EventHubOutput ehOut = p.getAnnotation(EventHubOutput.class);
      if (ehOut != null) {
        params.add(new FunctionDefinition.OutputParam(eventHubOutput(ehOut, settings), outputValueType(p, type)));
        continue;
      }
      Annotation binding = otherBinding(p.getAnnotations());
      if (binding != null) throw unsupported(binding, "parameter " + label);
      BindingName bn = p.getAnnotation(BindingName.class);
      if (bn != null) {
        params.add(new FunctionDefinition.BindingValue(bn.value(), type));
        continue;
      }
      throw new IllegalArgumentException("parameter " + label + " (" + type.getTypeName()
          + ") has no binding: annotate it with a trigger, @BindingName or an output binding");
    }
    if (trigger == null) throw new IllegalArgumentException("no trigger: one parameter needs @HttpTrigger, @EventHubTrigger or @TimerTrigger");
    FunctionDefinition.Output returns = null;
    CustomBinding customReturn = m.getAnnotation(CustomBinding.class);
    EventHubOutput ehReturn = m.getAnnotation(EventHubOutput.class);
    if (customReturn != null) returns = customOutput(customReturn, "$return");
    else if (ehReturn != null) returns = eventHubOutput(ehReturn, settings);
    else if (trigger instanceof Trigger.Http || m.getAnnotation(HttpOutput.class) != null) returns = new FunctionDefinition.Output("$return", "http");
    for (Annotation a : m.getAnnotations()) {
      if (isBinding(a) && !(a instanceof CustomBinding) && !(a instanceof HttpOutput) && !(a instanceof EventHubOutput)) {
        throw unsupported(a, "the return value");
      }
    }
    if (returns == null && m.getReturnType() != void.class && m.getReturnType() != Void.class) {
      // Azure drops a return value without an output binding too; say so at publish rather than silently.
      throw new IllegalArgumentException("returns " + m.getReturnType().getSimpleName()
          + " but the return value has no output binding (return void, or annotate the method with one)");
    }
    return new FunctionDefinition(name, c.getName(), m, trigger, List.copyOf(params), returns, retry(m));
  }

  /**
   * A binding expression {@code %Name%} (the whole value) resolved from the app settings, as the
   * Azure Functions host resolves it; any other value as it is.
   */
  static String resolve(String value, Map<String, String> settings) {
    if (value == null || value.length() < 3 || !value.startsWith("%") || !value.endsWith("%")) return value;
    String setting = value.substring(1, value.length() - 1);
    String v = settings.get(setting);
    if (v == null) {
      throw new IllegalArgumentException("app setting '" + setting + "' (in '" + value + "') is not set: PUT /functions/apps/{app}/settings");
    }
    return v;
  }

  /** {@code @EventHubOutput}: messages to a twinhub route (which route exists is checked by the host at publish). */
  private static FunctionDefinition.Output eventHubOutput(EventHubOutput o, Map<String, String> settings) {
    String target = resolve(o.eventHubName(), settings);
    if (target == null || target.isBlank()) throw new IllegalArgumentException("@EventHubOutput '" + o.name() + "' names no eventHubName");
    return new FunctionDefinition.Output(o.name(), "eventHub", target);
  }

  private static Trigger trigger(Parameter p, Type type, String functionName, Map<String, String> settings) {
    HttpTrigger http = p.getAnnotation(HttpTrigger.class);
    if (http != null) {
      String route = http.route().isBlank() ? functionName : http.route().replaceAll("^/+|/+$", "");
      List<String> methods = Arrays.stream(http.methods()).map(HttpMethod::name).toList();
      return new Trigger.Http(route, methods, http.authLevel().name());
    }
    EventHubTrigger eh = p.getAnnotation(EventHubTrigger.class);
    if (eh != null) {
      boolean many = eh.cardinality() == Cardinality.MANY;
      Class<?> raw = rawClass(type);
      // MANY is the annotation's default: a String then gets the batch as a JSON array, as on Azure.
      if (many && !(raw.isArray() || List.class.isAssignableFrom(raw) || raw == String.class)) {
        throw new IllegalArgumentException("cardinality MANY (the default) needs an array, a List or a String parameter, not "
            + type.getTypeName() + " (or set cardinality = Cardinality.ONE)");
      }
      if (!many && (raw.isArray() && raw != byte[].class || List.class.isAssignableFrom(raw))) {
        throw new IllegalArgumentException("cardinality ONE takes one event (String, byte[] or a POJO), not " + type.getTypeName());
      }
      return new Trigger.EventHub(resolve(eh.eventHubName(), settings), many, eh.connection(), eh.consumerGroup());
    }
    TimerTrigger timer = p.getAnnotation(TimerTrigger.class);
    if (timer != null) return new Trigger.Timer(timer.schedule(), NCrontab.parse(timer.schedule()));
    for (Annotation a : p.getAnnotations()) {
      String n = a.annotationType().getSimpleName();
      if (a.annotationType().getName().startsWith(ANNOTATIONS) && n.endsWith("Trigger")) throw unsupported(a, "trigger");
    }
    return null;
  }

  private static FunctionDefinition.Output customOutput(CustomBinding b, String name) {
    if ("twinPatch".equalsIgnoreCase(b.type()) && "out".equalsIgnoreCase(b.direction())) {
      return new FunctionDefinition.Output(name, "twinPatch");
    }
    throw new IllegalArgumentException("custom binding type '" + b.type() + "' direction '" + b.direction()
        + "' is not supported (twinhub runs type 'twinPatch', direction 'out')");
  }

  private static Type outputValueType(Parameter p, Type type) {
    if (p.getType() != OutputBinding.class) {
      throw new IllegalArgumentException("output parameter " + p.getName() + " must be an OutputBinding<T>");
    }
    return type instanceof ParameterizedType pt ? pt.getActualTypeArguments()[0] : Object.class;
  }

  private static boolean isBinding(Annotation a) {
    String n = a.annotationType().getName();
    return n.startsWith(ANNOTATIONS) && !(a instanceof FunctionName) && !(a instanceof BindingName)
        && !(a instanceof FixedDelayRetry) && !(a instanceof ExponentialBackoffRetry)
        && !n.endsWith(".StorageAccount") && !n.endsWith(".HasImplicitOutput");
  }

  private static Annotation otherBinding(Annotation[] annotations) {
    for (Annotation a : annotations) if (isBinding(a) && !(a instanceof BindingName)) return a;
    return null;
  }

  private static IllegalArgumentException unsupported(Annotation a, String where) {
    return new IllegalArgumentException("@" + a.annotationType().getSimpleName() + " on " + where
        + " is not supported by twinhub (triggers: @HttpTrigger, @EventHubTrigger, @TimerTrigger; "
        + "outputs: @EventHubOutput to a route, @CustomBinding(type = \"twinPatch\", direction = \"out\"), the HTTP response)");
  }

  private static FunctionDefinition.RetryPolicy retry(Method m) {
    FixedDelayRetry fixed = m.getAnnotation(FixedDelayRetry.class);
    if (fixed != null) {
      Duration d = timeSpan(fixed.delayInterval());
      return new FunctionDefinition.RetryPolicy(Math.max(0, fixed.maxRetryCount()), d, d, false);
    }
    ExponentialBackoffRetry exp = m.getAnnotation(ExponentialBackoffRetry.class);
    if (exp != null) {
      return new FunctionDefinition.RetryPolicy(Math.max(0, exp.maxRetryCount()), timeSpan(exp.minimumInterval()),
          timeSpan(exp.maximumInterval()), true);
    }
    return FunctionDefinition.RetryPolicy.DEFAULT;
  }

  /** .NET TimeSpan text as the retry annotations take it: {@code hh:mm:ss} or {@code d.hh:mm:ss}. */
  static Duration timeSpan(String s) {
    try {
      String[] dayRest = s.trim().split("\\.", 2);
      long days = 0;
      String hms = s.trim();
      if (dayRest.length == 2 && !dayRest[0].contains(":")) {
        days = Long.parseLong(dayRest[0]);
        hms = dayRest[1];
      }
      String[] p = hms.split(":");
      if (p.length != 3) throw new NumberFormatException();
      return Duration.ofDays(days).plusHours(Long.parseLong(p[0])).plusMinutes(Long.parseLong(p[1]))
          .plusMillis(Math.round(Double.parseDouble(p[2]) * 1000));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("retry interval '" + s + "' is not a time span (hh:mm:ss)");
    }
  }

  static Class<?> rawClass(Type t) {
    if (t instanceof Class<?> c) return c;
    if (t instanceof ParameterizedType pt) return (Class<?>) pt.getRawType();
    if (t instanceof java.lang.reflect.GenericArrayType g) {
      return java.lang.reflect.Array.newInstance(rawClass(g.getGenericComponentType()), 0).getClass();
    }
    return Object.class;
  }

  public String name() {
    return name;
  }

  public int version() {
    return version;
  }

  public Map<String, FunctionDefinition> functions() {
    return functions;
  }

  /** The app settings this version was loaded with (function code gets them as {@code @BindingName("AppSettings")}). */
  public Map<String, String> settings() {
    return settings;
  }

  /** The instance a function's non-static method is called on: one per class, created on first use. */
  synchronized Object instanceFor(Method m) throws ReflectiveOperationException {
    if (Modifier.isStatic(m.getModifiers())) return null;
    Object o = instances.get(m.getDeclaringClass());
    if (o == null) {
      o = m.getDeclaringClass().getConstructor().newInstance();
      instances.put(m.getDeclaringClass(), o);
    }
    return o;
  }

  /** The logger {@code ExecutionContext.getLogger()} returns for {@code function}. */
  java.util.logging.Logger loggerFor(String function) {
    return loggers.computeIfAbsent(function, f -> Invoker.newFunctionLogger());
  }

  ClassLoader classLoader() {
    return loader;
  }

  public ObjectMapper json() {
    return json;
  }

  JavaType javaType(Type t) {
    return json.getTypeFactory().constructType(t);
  }

  /** Runs one invocation on the calling thread ({@link Invoker}). */
  public InvocationResult invoke(String function, InvocationInput input, String invocationId) {
    FunctionDefinition f = functions.get(function);
    if (f == null) throw new IllegalArgumentException("no function " + function + " in app " + name);
    return Invoker.invoke(this, f, input, invocationId);
  }

  @Override
  public void close() {
    closeQuietly(loader);
  }

  private static void closeQuietly(AppClassLoader l) {
    try {
      l.close();
    } catch (IOException ignored) {
      // the JAR file handle only
    }
  }

  @Override
  public String toString() {
    return name + " v" + version + " " + functions.keySet();
  }
}
