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
 */
public final class SdkTwinCalls {
  private SdkTwinCalls() {}

  /** A reported patch; its new reported version. Throws as the SDK's synchronous call does. */
  public static ReportedPropertiesUpdateResponse updateReported(InternalClient client, TwinCollection reported, Duration timeout)
      throws IotHubClientException, InterruptedException {
    CompletableFuture<IotHubTransportMessage> answer = new CompletableFuture<>();
    client.updateReportedPropertiesAsync(reported, new ReportedPropertiesUpdateCorrelatingMessageCallback() {
      @Override
      public void onRequestQueued(Message message, Object context) {}

      @Override
      public void onRequestSent(Message message, Object context) {}

      @Override
      public void onRequestAcknowledged(Message message, Object context, IotHubClientException e) {}

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
    IotHubTransportMessage m = await(answer, timeout, "Timed out waiting for service to acknowledge reported properties update");
    return new ReportedPropertiesUpdateResponse(m.getVersion());
  }

  /** The twin (desired and reported properties). Throws as the SDK's synchronous call does. */
  public static Twin getTwin(InternalClient client, Duration timeout) throws IotHubClientException, InterruptedException {
    CompletableFuture<IotHubTransportMessage> answer = new CompletableFuture<>();
    client.getTwinAsync(new GetTwinCorrelatingMessageCallback() {
      @Override
      public void onRequestQueued(Message message, Object context) {}

      @Override
      public void onRequestSent(Message message, Object context) {}

      @Override
      public void onRequestAcknowledged(Message message, Object context, IotHubClientException e) {}

      @Override
      public void onResponseReceived(Twin twin, Message message, Object context, IotHubStatusCode status, IotHubClientException e) {
        answer.complete((IotHubTransportMessage) message);
      }

      @Override
      public void onResponseAcknowledged(Message message, Object context) {
        answer.complete((IotHubTransportMessage) message);
      }
    }, null);
    IotHubTransportMessage m = await(answer, timeout, "Timed out waiting for service to respond to getTwin request");
    // As the SDK builds the twin it hands to onResponseReceived.
    return Twin.createFromPropertiesJson(new String(m.getBytes(), StandardCharsets.UTF_8));
  }

  /** The answer, or the SDK's exceptions: DEVICE_OPERATION_TIMED_OUT, or the answer's status when it is not a success. */
  private static IotHubTransportMessage await(CompletableFuture<IotHubTransportMessage> answer, Duration timeout, String timedOut)
      throws IotHubClientException, InterruptedException {
    IotHubTransportMessage m;
    try {
      m = answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new IotHubClientException(IotHubStatusCode.DEVICE_OPERATION_TIMED_OUT, timedOut);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause()); // never completed exceptionally
    }
    IotHubStatusCode status = m.getStatus() == null ? IotHubStatusCode.ERROR
        : IotHubStatusCode.getIotHubStatusCode(Integer.parseInt(m.getStatus()));
    if (!IotHubStatusCode.isSuccessful(status)) {
      throw new IotHubClientException(status, "Received an unsuccessful operation error code from the service: " + status);
    }
    return m;
  }
}
