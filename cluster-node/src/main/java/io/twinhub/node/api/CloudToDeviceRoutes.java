package io.twinhub.node.api;

import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.c2d.CloudToDeviceQueue;
import io.twinhub.twin.c2d.CloudToDeviceService;
import io.twinhub.twin.error.IotHubError;

import static akka.http.javadsl.server.Directives.*;

/**
 * IoT Hub's REST resource of a device's cloud-to-device queue: {@code DELETE /devices/{id}/commands}
 * purges it and answers {@code {"totalMessagesPurged":n,"deviceId":"..."}} (service right, as
 * IoT Hub's {@code ServiceConnect}). Sending is AMQP's ({@code io.twinhub.node.amqp}).
 */
public final class CloudToDeviceRoutes {
  private final CloudToDeviceService c2d;
  private final ApiServer gate;
  private final ApiResponses responses;

  public CloudToDeviceRoutes(CloudToDeviceService c2d, ApiServer server) {
    this.c2d = c2d;
    this.gate = server;
    this.responses = server.responses();
  }

  public Route route() {
    return pathPrefix("devices", () -> pathPrefix(PathMatchers.segment(), deviceId -> path("commands", () ->
        delete(() -> gate.authorized(AccessRight.ServiceConnect, () ->
            completeWithFuture(c2d.purge(deviceId).thenApply(result -> {
              if (result instanceof IotHubError e) return responses.error(e);
              ObjectNode body = JsonNodeFactory.instance.objectNode();
              body.put("totalMessagesPurged", ((CloudToDeviceQueue.Purged) result).count());
              body.put("deviceId", deviceId);
              return responses.ok(body);
            })))))));
  }
}
