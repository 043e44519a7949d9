package io.twinhub.node.mqtt;

import com.microsoft.azure.sdk.iot.device.InternalClient;
import com.microsoft.azure.sdk.iot.device.IotHubStatusCode;
import com.microsoft.azure.sdk.iot.device.Message;
import com.microsoft.azure.sdk.iot.device.exceptions.IotHubClientException;
import com.microsoft.azure.sdk.iot.device.transport.IotHubTransportMessage;
import com.microsoft.azure.sdk.iot.device.twin.GetTwinCorrelatingMessageCallback;
import com.microsoft.azure.sdk.iot.device.twin.ReportedPropertiesUpdateCorrelatingMessageCallback;
import com.microsoft.azure.sdk.iot.device.twin.ReportedPropertiesUpdateResponse;
import com.microsoft.azure.sdk.iot.device.twin.Twin;
import com.microsoft.azure.sdk.iot.device.twin.TwinCollection;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Twin GET and reported patch with the official Java device SDK (2.5.0), done when the hub's answer
 * reached the SDK, whichever of the SDK's two callbacks for that answer runs first.
 *
 * <p>The SDK's synchronous {@code getTwin(timeout)} and {@code updateReportedProperties(.., timeout)}
 * wait for {@code onResponseReceived} only, and a race in the SDK skips it (Azure/azure-iot-sdk-java
 * issue #1803, fix proposed in PR #1847, not released): {@code IotHubTransport.onMessageReceived}
 * (on Paho's callback thread) puts the answer in the receive queue, which wakes the receive task,
 * before it looks up the request's correlation callback; the receive task acknowledges the answer,
 * calls {@code onResponseAcknowledged} and starts a thread that removes the correlation callback.
 * When the callback thread is descheduled in between (a loaded 2-core box), the lookup finds nothing,
 * {@code onResponseReceived} is never called and the operation times out although the answer
 * arrived — what EdgeGatewayIT hit (the hub applied the patch; edgeHub wrote the 204 to the leaf).
 * {@code onResponseAcknowledged} carries the same answer (status, {@code $version}, body), so
 * completing on either callback waits for exactly what the synchronous calls wait for.
 *
 * <p>The {@code *Async} forms are for code running on the SDK's own callback threads (the IoT Edge
 * test modules report from their message callbacks), where a blocking wait would hold the thread
 * that delivers the answer.
 */
public final class SdkTwinCalls {
  private SdkTwinCalls() {}

  /** A reported patch; its new reported version. Throws as the SDK's synchronous call does. */
  public static ReportedPropertiesUpdateResponse updateReported(InternalClient client, TwinCollection reported, Duration timeout)
      throws IotHubClientException, InterruptedException {
    return await(updateReportedAsync(client, reported), timeout, "Timed out waiting for service to acknowledge reported properties update");
  }

  /** The twin (desired and reported properties). Throws as the SDK's synchronous call does. */
  public static Twin getTwin(InternalClient client, Duration timeout) throws IotHubClientException, InterruptedException {
    return await(getTwinAsync(client), timeout, "Timed out waiting for service to respond to getTwin request");
  }

  /**
   * A reported patch: completes with its new reported version once the answer reached the SDK, or
   * with an {@link IotHubClientException} (the answer's status when it is not a success, or the SDK
   * gave the request up). Never completes when no answer comes: add a timeout.
   */
  public static CompletableFuture<ReportedPropertiesUpdateResponse> updateReportedAsync(InternalClient client, TwinCollection reported) {
    CompletableFuture<IotHubTransportMessage> answer = new CompletableFuture<>();
    client.updateReportedPropertiesAsync(reported, new ReportedPropertiesUpdateCorrelatingMessageCallback() {
      @Override
      public void onRequestQueued(Message message, Object context) {}

      @Override
      public void onRequestSent(Message message, Object context) {}

      @Override
      public void onRequestAcknowledged(Message message, Object context, IotHubClientException e) {
        if (e != null) answer.completeExceptionally(e);
      }

      @Override
      public void onResponseReceived(Message message, Object context, IotHubStatusCode status,
                                     ReportedPropertiesUpdateResponse response, IotHubClientException e) {
        answer.complete((IotHubTransportMessage) message);
      }

      @Override
      public void onResponseAcknowledged(Message message, Object context) {
        answer.complete((IotHubTransportMessage) message);
      }
    }, null);
    return answer.thenApply(m -> new ReportedPropertiesUpdateResponse(successful(m).getVersion()));
  }

  /** The twin, as {@link #updateReportedAsync} completes. */
  public static CompletableFuture<Twin> getTwinAsync(InternalClient client) {
    CompletableFuture<IotHubTransportMessage> answer = new CompletableFuture<>();
    client.getTwinAsync(new GetTwinCorrelatingMessageCallback() {
      @Override
      public void onRequestQueued(Message message, Object context) {}

      @Override
      public void onRequestSent(Message message, Object context) {}

      @Override
      public void onRequestAcknowledged(Message message, Object context, IotHubClientException e) {
        if (e != null) answer.completeExceptionally(e);
      }

      @Override
      public void onResponseReceived(Twin twin, Message message, Object context, IotHubStatusCode status, IotHubClientException e) {
        answer.complete((IotHubTransportMessage) message);
      }

      @Override
      public void onResponseAcknowledged(Message message, Object context) {
        answer.complete((IotHubTransportMessage) message);
      }
    }, null);
    // As the SDK builds the twin it hands to onResponseReceived.
    return answer.thenApply(m -> Twin.createFromPropertiesJson(new String(successful(m).getBytes(), StandardCharsets.UTF_8)));
  }

  /** The answer, or (wrapped, for the future) the SDK's exception for a status that is not a success. */
  private static IotHubTransportMessage successful(IotHubTransportMessage m) {
    IotHubStatusCode status = m.getStatus() == null ? IotHubStatusCode.ERROR
        : IotHubStatusCode.getIotHubStatusCode(Integer.parseInt(m.getStatus()));
    if (!IotHubStatusCode.isSuccessful(status)) {
      throw new CompletionException(new IotHubClientException(status,
          "Received an unsuccessful operation error code from the service: " + status));
    }
    return m;
  }

  /** The result, or the SDK's exceptions: DEVICE_OPERATION_TIMED_OUT, the answer's status, the SDK's own failure. */
  private static <T> T await(CompletableFuture<T> answer, Duration timeout, String timedOut)
      throws IotHubClientException, InterruptedException {
    try {
      return answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new IotHubClientException(IotHubStatusCode.DEVICE_OPERATION_TIMED_OUT, timedOut);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IotHubClientException c) throw new IotHubClientException(c.getStatusCode(), c.getMessage(), c);
      throw new IllegalStateException(e.getCause());
    }
  }
}
