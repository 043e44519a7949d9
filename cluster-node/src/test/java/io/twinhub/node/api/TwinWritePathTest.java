package io.twinhub.node.api;

import akka.http.javadsl.model.HttpMethods;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.headers.RawHeader;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Which writes the twin write path takes; everything it leaves goes through the route tree. */
class TwinWritePathTest {

  @Test
  void patchPutAndPostOverriddenToPatchAreTaken() {
    assertEquals(Boolean.FALSE, TwinWritePath.replace(HttpMethods.PATCH, null));
    assertEquals(Boolean.TRUE, TwinWritePath.replace(HttpMethods.PUT, null));
    // The service SDK's PATCH, with the route's leniency: value stripped, case ignored.
    assertEquals(Boolean.FALSE, TwinWritePath.replace(HttpMethods.POST, "PATCH"));
    assertEquals(Boolean.FALSE, TwinWritePath.replace(HttpMethods.POST, " patch "));
  }

  @Test
  void everyOtherMethodAndOverrideIsLeftToTheRouteTree() {
    assertNull(TwinWritePath.replace(HttpMethods.POST, null));      // the route's 400 InvalidOperation
    assertNull(TwinWritePath.replace(HttpMethods.POST, "PUT"));     // an override the route refuses
    assertNull(TwinWritePath.replace(HttpMethods.PATCH, "PATCH"));  // an override on anything but POST
    assertNull(TwinWritePath.replace(HttpMethods.PUT, "PATCH"));
  }

  @Test
  void readsEachHeaderOnceAndLeavesRepeatedOnesToTheRouteTree() {
    HttpRequest plain = HttpRequest.PATCH("/twins/d?api-version=2021-04-12")
        .addHeader(RawHeader.create("Authorization", "SharedAccessSignature sr=x"))
        .addHeader(RawHeader.create("If-Match", "\"AAAAAAAAAAE=\""))
        .addHeader(RawHeader.create("X-HTTP-Method-Override", "PATCH"));
    assertEquals(new TwinWritePath.Headers("SharedAccessSignature sr=x", "\"AAAAAAAAAAE=\"", "PATCH"),
        TwinWritePath.Headers.of(plain));
    assertEquals(new TwinWritePath.Headers(null, null, null), TwinWritePath.Headers.of(HttpRequest.PATCH("/twins/d")));
    assertNull(TwinWritePath.Headers.of(plain.addHeader(RawHeader.create("authorization", "SharedAccessSignature sr=y"))));
    assertNull(TwinWritePath.Headers.of(plain.addHeader(RawHeader.create("If-Match", "*"))));
    assertNull(TwinWritePath.Headers.of(plain.addHeader(RawHeader.create("X-HTTP-Method-Override", "PUT"))));
  }
}
