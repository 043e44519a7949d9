package io.twinhub.node;

import com.typesafe.config.ConfigFactory;
import io.twinhub.mqtt.MqttSettings;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The nodes the ITs start in this JVM run MQTT on the TLS stack the product runs ({@code tls-provider
 * = auto}: BoringSSL on Linux x86_64). A test dependency once brought a second netty-tcnative
 * (2.0.35, via the service SDK's azure-core): Netty then finds two different native libraries of the
 * same name, loads neither, and every IT ran on the JDK's TLS without anyone noticing.
 */
class TestClasspathTlsTest {
  @Test
  void theTestsNodesRunMqttOnBoringSslAsTheProductDoes() {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        "Linux".equals(System.getProperty("os.name")) && "amd64".equals(System.getProperty("os.arch")),
        "BoringSSL ships for Linux x86_64 only");
    assertTrue(io.netty.handler.ssl.OpenSsl.isAvailable(), () -> "BoringSSL does not load on the test class path: "
        + io.netty.handler.ssl.OpenSsl.unavailabilityCause());
    assertEquals("compact stage, BoringSSL", MqttSettings.from(ConfigFactory.load()).tlsDescription());
  }
}
