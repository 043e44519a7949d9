package io.twinhub.node;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/** Fails fast, before anything starts, when a listener's port is taken. */
final class PortCheck {
  private PortCheck() {}

  static void requireFree(String bindInterface, int port, String what, String flag) {
    if (port == 0) return;
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(InetAddress.getByName(bindInterface), port));
    } catch (IOException e) {
      throw new NodeStartException(what + " port " + port + " on " + bindInterface
          + " is already in use; choose another with " + flag);
    }
  }
}
