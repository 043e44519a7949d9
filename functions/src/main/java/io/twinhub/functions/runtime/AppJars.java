package io.twinhub.functions.runtime;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarOutputStream;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;

/**
 * Function apps built from source on the spot, against the official Azure Functions Java library on
 * this classpath: what the tests and the functions benchmark publish (a JDK is needed, not a JRE).
 */
public final class AppJars {
  private AppJars() {}

  /** Compiles {@code source} into {@code classes}; javac's exit code (0: compiled), -1 when there is no compiler. */
  public static int compile(Path source, Path classes) {
    String cp = Stream.of(com.microsoft.azure.functions.annotation.FunctionName.class, com.microsoft.azure.functions.ExecutionContext.class)
        .map(c -> c.getProtectionDomain().getCodeSource().getLocation().getPath()).distinct()
        .collect(Collectors.joining(File.pathSeparator));
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    return javac == null ? -1 : javac.run(null, null, null, "-d", classes.toString(), "-cp", cp, source.toString());
  }

  /** Writes a JAR of every file under {@code classes} to {@code out}. */
  public static void jar(Path classes, OutputStream out) throws IOException {
    try (JarOutputStream jar = new JarOutputStream(out); Stream<Path> files = Files.walk(classes)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        jar.putNextEntry(new ZipEntry(classes.relativize(f).toString().replace(File.separatorChar, '/')));
        jar.write(Files.readAllBytes(f));
      }
    }
  }
}
