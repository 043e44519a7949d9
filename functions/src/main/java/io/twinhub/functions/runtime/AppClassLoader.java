package io.twinhub.functions.runtime;

import java.net.URL;
import java.net.URLClassLoader;

/**
 * One function app's classes: the app's JAR first (child-first), then only the JDK. The Azure
 * Functions Java library ({@code com.microsoft.azure.functions.*}) is the one thing shared with the
 * runtime, so the annotations and interfaces the runtime reads and implements are the app's. An app
 * sees neither the hub's classes nor another app's, and may bundle any library version it likes.
 */
final class AppClassLoader extends URLClassLoader {
  static final String SHARED_API = "com.microsoft.azure.functions.";

  static {
    registerAsParallelCapable();
  }

  private final ClassLoader runtime;

  AppClassLoader(String app, URL jar, ClassLoader runtime) {
    super("function-app-" + app, new URL[] {jar}, ClassLoader.getPlatformClassLoader());
    this.runtime = runtime;
  }

  @Override
  protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
    if (name.startsWith(SHARED_API)) return runtime.loadClass(name);
    synchronized (getClassLoadingLock(name)) {
      Class<?> c = findLoadedClass(name);
      if (c == null) {
        // java.* can only come from the platform; everything else from the app before the JDK's extras.
        if (name.startsWith("java.")) {
          c = getParent().loadClass(name);
        } else {
          try {
            c = findClass(name);
          } catch (ClassNotFoundException e) {
            c = getParent().loadClass(name);
          }
        }
      }
      if (resolve) resolveClass(c);
      return c;
    }
  }

  @Override
  public URL getResource(String name) {
    URL own = findResource(name);
    return own != null ? own : getParent().getResource(name);
  }
}
