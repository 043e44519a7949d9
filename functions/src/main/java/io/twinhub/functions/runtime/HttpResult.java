package io.twinhub.functions.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.microsoft.azure.functions.HttpResponseMessage;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What an HTTP function's return value becomes on the wire: an {@code HttpResponseMessage} as
 * built (status, headers, body), any other value as a 200 with that body, nothing as 204. A
 * String body is text unless a Content-Type says otherwise, byte[] is octet-stream, anything
 * else is JSON.
 */
public record HttpResult(int status, Map<String, String> headers, String contentType, byte[] body) {

  public static HttpResult of(Object returnValue, ObjectMapper json) {
    if (returnValue == null) return new HttpResult(204, Map.of(), null, new byte[0]);
    int status = 200;
    Map<String, String> headers = new LinkedHashMap<>();
    Object body = returnValue;
    if (returnValue instanceof HttpResponseMessage m) {
      status = m.getStatusCode();
      if (m instanceof HttpMessages.Response r) headers.putAll(r.headers());
      body = m.getBody();
    }
    String contentType = null;
    for (var it = headers.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      if (e.getKey().equalsIgnoreCase("content-type")) {
        contentType = e.getValue();
        it.remove();
      } else if (e.getKey().equalsIgnoreCase("content-length") || e.getKey().equalsIgnoreCase("transfer-encoding")) {
        it.remove();
      }
    }
    byte[] bytes;
    if (body == null) {
      bytes = new byte[0];
    } else if (body instanceof String s) {
      bytes = s.getBytes(StandardCharsets.UTF_8);
      if (contentType == null) contentType = "text/plain; charset=utf-8";
    } else if (body instanceof byte[] b) {
      bytes = b;
      if (contentType == null) contentType = "application/octet-stream";
    } else {
      try {
        bytes = json.writeValueAsBytes(body);
      } catch (Exception e) {
        bytes = String.valueOf(body).getBytes(StandardCharsets.UTF_8);
      }
      if (contentType == null) contentType = "application/json";
    }
    return new HttpResult(status, Map.copyOf(headers), contentType, bytes);
  }
}
