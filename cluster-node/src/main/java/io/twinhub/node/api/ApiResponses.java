package io.twinhub.node.api;

import akka.http.javadsl.model.ContentType;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.EntityTag;
import akka.http.javadsl.model.headers.ETag;
import akka.http.javadsl.model.headers.RawHeader;
import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * How the REST API answers: JSON bodies as {@code application/json; charset=utf-8}, etags as quoted
 * {@code ETag} headers, and every error in IoT Hub's shape ({@link IotHubError#toJsonBody}) with the
 * {@code iothub-errorcode} header, plus {@code Retry-After} on 429/503 so clients back off.
 */
public final class ApiResponses {
  private static final Logger log = LoggerFactory.getLogger(ApiResponses.class);

  /** What the SDKs send and what IoT Hub answers with. */
  public static final ContentType.NonBinary JSON = ContentTypes.APPLICATION_JSON;

  private final Clock clock;
  private final String retryAfterSeconds;

  public ApiResponses(Clock clock, Duration retryAfter) {
    this.clock = clock;
    this.retryAfterSeconds = String.valueOf(Math.max(1, retryAfter.toSeconds()));
  }

  public HttpResponse ok(JsonNode body) {
    return HttpResponse.create().withStatus(StatusCodes.OK).withEntity(HttpEntities.create(JSON, TwinJson.toBytes(body)));
  }

  /** 200 with the body and {@code ETag: "<etag>"}. */
  public HttpResponse ok(JsonNode body, String etag) {
    return ok(body).addHeader(ETag.create(EntityTag.create(etag, false)));
  }

  /** 200 with the twin as back ends get it ({@link TwinJson#serviceView}) and its etag. */
  public HttpResponse twin(Twin twin) {
    return HttpResponse.create().withStatus(StatusCodes.OK)
        .withEntity(HttpEntities.create(JSON, TwinJson.serviceViewBytes(twin)))
        .addHeader(ETag.create(EntityTag.create(twin.etag(), false)));
  }

  /** An entity's reply: {@code onAccepted} of an accepted one, else the rejection's IoT Hub error. */
  public HttpResponse reply(TwinReply reply, java.util.function.Function<TwinReply.Accepted, HttpResponse> onAccepted) {
    return reply instanceof TwinReply.Accepted a ? onAccepted.apply(a) : error(((TwinReply.Rejected) reply).error());
  }

  /** A failure no client caused: logged here, answered as a bare 500 (no stack trace reaches the client). */
  public HttpResponse unexpected(Throwable failure) {
    log.warn("request failed unexpectedly", failure);
    return error(IotHubErrorCode.ServerError, "internal error; retry later");
  }

  public HttpResponse noContent() {
    return HttpResponse.create().withStatus(StatusCodes.NO_CONTENT);
  }

  public HttpResponse error(IotHubErrorCode code, String message) {
    return error(code.error(message));
  }

  public HttpResponse error(IotHubError error) {
    return error(error, List.of());
  }

  public HttpResponse error(IotHubError error, List<HttpHeader> extraHeaders) {
    List<HttpHeader> headers = new ArrayList<>(extraHeaders);
    headers.add(RawHeader.create(IotHubError.ERROR_CODE_HEADER, error.code().headerValue()));
    if (error.status() == 503 || error.status() == 429) {
      headers.add(RawHeader.create("Retry-After", retryAfterSeconds));
    }
    return HttpResponse.create()
        .withStatus(error.status())
        .withEntity(HttpEntities.create(JSON, error.toJsonBody(clock)))
        .addHeaders(headers);
  }
}
