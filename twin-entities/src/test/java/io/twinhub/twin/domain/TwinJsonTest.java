package io.twinhub.twin.domain;

import static io.twinhub.twin.domain.TestJson.accepted;
import static io.twinhub.twin.domain.TestJson.assertJson;
import static io.twinhub.twin.domain.TestJson.at;
import static io.twinhub.twin.domain.TestJson.doc;
import static io.twinhub.twin.domain.TestJson.rejected;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.twinhub.twin.domain.TwinUpdate.PatchDesired;
import io.twinhub.twin.domain.TwinUpdate.PatchReported;
import io.twinhub.twin.domain.TwinUpdate.PatchTags;
import io.twinhub.twin.domain.TwinUpdate.ReplaceDesired;
import io.twinhub.twin.domain.TwinUpdate.ReplaceTwin;
import io.twinhub.twin.domain.TwinUpdate.UpdateTwin;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

class TwinJsonTest {

    private static final Instant T0 = at("2026-11-24T09:41:50.123Z");
    private static final Instant T1 = at("2026-11-24T09:42:00.000Z");
    private static final TwinLimits L = TwinLimits.DEFAULT;
    private static final String KEY = Base64.getEncoder().encodeToString(new byte[16]);

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static Twin twin(String moduleId) {
        Identity id = accepted(Identity.create("dev1", moduleId,
                new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(KEY, KEY), false), "g1"));
        TwinState s = TwinState.created(T0);
        s = accepted(s.decide(new UpdateTwin(doc("{'location':{'region':'US'}}"), doc("{'fw':'1.0'}")), T1, L));
        s = accepted(s.decide(new PatchReported(doc("{'battery':55}")), T1, L));
        return new Twin(id, s);
    }

    @Test
    void timestampFormat() {
        assertEquals("2026-11-24T09:41:50.123Z", TwinJson.timestamp(T0));
        assertEquals("2026-01-01T00:00:00.000Z", TwinJson.timestamp(at("2026-01-01T00:00:00Z")));
    }

    @Test
    void serviceViewOfADeviceTwin() {
        ObjectNode v = TwinJson.serviceView(twin(null));
        assertJson("""
                {'deviceId':'dev1','etag':'AAAAAAAAAAM=','deviceEtag':'MQ==','status':'enabled','statusReason':null,
                 'statusUpdateTime':'0001-01-01T00:00:00Z','connectionState':'Disconnected',
                 'lastActivityTime':'0001-01-01T00:00:00Z','cloudToDeviceMessageCount':0,'authenticationType':'sas',
                 'x509Thumbprint':{'primaryThumbprint':null,'secondaryThumbprint':null},'modelId':'','version':3,
                 'tags':{'location':{'region':'US'}},
                 'properties':{
                   'desired':{'fw':'1.0','$metadata':{'$lastUpdated':'2026-11-24T09:42:00.000Z','$lastUpdatedVersion':2,
                              'fw':{'$lastUpdated':'2026-11-24T09:42:00.000Z','$lastUpdatedVersion':2}},'$version':2},
                   'reported':{'battery':55,'$metadata':{'$lastUpdated':'2026-11-24T09:42:00.000Z',
                              'battery':{'$lastUpdated':'2026-11-24T09:42:00.000Z'}},'$version':2}},
                 'capabilities':{'iotEdge':false}}""", v);
        assertEquals(List.of("deviceId", "etag", "deviceEtag", "status", "statusReason", "statusUpdateTime",
                "connectionState", "lastActivityTime", "cloudToDeviceMessageCount", "authenticationType",
                "x509Thumbprint", "modelId", "version", "tags", "properties", "capabilities"),
                iterableToList(v.fieldNames()));
    }

    private static List<String> iterableToList(java.util.Iterator<String> it) {
        java.util.ArrayList<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    @Test
    void serviceViewOfAModuleTwinHasModuleIdAndNoCapabilities() {
        ObjectNode v = TwinJson.serviceView(twin("m1"));
        assertEquals("m1", v.get("moduleId").textValue());
        assertTrue(!v.has("capabilities"));
        assertEquals(List.of("deviceId", "moduleId", "etag"), iterableToList(v.fieldNames()).subList(0, 3));
    }

    @Test
    void serviceViewShowsConnectionAndTimes() {
        Twin t = twin(null);
        Identity id = t.identity().withConnectionState(ConnectionState.CONNECTED, at("2026-11-24T10:00:00.5Z"));
        ObjectNode v = TwinJson.serviceView(t.withIdentity(id));
        assertEquals("Connected", v.get("connectionState").textValue());
        assertEquals("2026-11-24T10:00:00.500Z", v.get("lastActivityTime").textValue());
    }

    @Test
    void renderedTreesAreCopies() {
        Twin t = twin(null);
        ObjectNode v = TwinJson.serviceView(t);
        ((ObjectNode) v.get("tags")).put("hacked", true);
        ((ObjectNode) v.get("properties").get("desired")).put("hacked", true);
        assertJson("{'location':{'region':'US'}}", t.state().tags().toObjectNode());
        assertJson("{'fw':'1.0'}", t.state().desired().values().toObjectNode());
    }

    @Test
    void deviceViewIsWhatMqttGetReturns() {
        TwinState s = twin(null).state();
        assertJson("{'desired':{'fw':'1.0','$version':2},'reported':{'battery':55,'$version':2}}", TwinJson.deviceView(s));
        ObjectNode withMeta = TwinJson.deviceView(s, true);
        assertTrue(withMeta.get("desired").has("$metadata"));
        assertTrue(withMeta.get("reported").has("$metadata"));
    }

    @Test
    void desiredNotificationCarriesThePatchAndVersion() {
        TwinState s = twin(null).state();
        PatchDesired p = new PatchDesired(doc("{'fw':'2.0','old':null}"));
        TwinState after = accepted(s.decide(p, T1, L));
        assertJson("{'fw':'2.0','old':null,'$version':3}", TwinJson.desiredNotification(p, after).orElseThrow());
        ReplaceDesired r = new ReplaceDesired(doc("{'x':{'y':1,'z':null}}"));
        TwinState replaced = accepted(after.decide(r, T1, L));
        assertJson("{'x':{'y':1},'$version':4}", TwinJson.desiredNotification(r, replaced).orElseThrow());
        UpdateTwin both = new UpdateTwin(doc("{'t':1}"), doc("{'d':1}"));
        assertJson("{'d':1,'$version':5}",
                TwinJson.desiredNotification(both, accepted(replaced.decide(both, T1, L))).orElseThrow());
        assertTrue(TwinJson.desiredNotification(new PatchReported(doc("{'a':1}")), s).isEmpty());
        assertTrue(TwinJson.desiredNotification(new UpdateTwin(doc("{'t':1}"), null), s).isEmpty());
        assertTrue(TwinJson.desiredNotification(new PatchTags(doc("{'t':1}")), s).isEmpty());
    }

    @Test
    void twinChangeNotificationBodies() {
        TwinState s = twin(null).state();
        PatchReported rep = new PatchReported(doc("{'battery':50,'gone':null,'net':{'rssi':-60}}"));
        TwinState after = accepted(s.decide(rep, at("2026-11-24T11:00:00Z"), L));
        assertJson("""
                {'version':4,'properties':{'reported':{'battery':50,'gone':null,'net':{'rssi':-60},
                  '$metadata':{'$lastUpdated':'2026-11-24T11:00:00.000Z',
                     'battery':{'$lastUpdated':'2026-11-24T11:00:00.000Z'},
                     'net':{'$lastUpdated':'2026-11-24T11:00:00.000Z','rssi':{'$lastUpdated':'2026-11-24T11:00:00.000Z'}}},
                  '$version':3}}}""", TwinJson.twinChangeNotification(rep, after));
        ReplaceTwin put = new ReplaceTwin(doc("{'a':1}"), doc("{'b':2}"));
        TwinState replaced = accepted(after.decide(put, at("2026-11-24T12:00:00Z"), L));
        assertEquals("replaceTwin", put.opType());
        assertJson("""
                {'version':5,'tags':{'a':1},'properties':{'desired':{'b':2,
                  '$metadata':{'$lastUpdated':'2026-11-24T12:00:00.000Z','$lastUpdatedVersion':3,
                     'b':{'$lastUpdated':'2026-11-24T12:00:00.000Z','$lastUpdatedVersion':3}},'$version':3}}}""",
                TwinJson.twinChangeNotification(put, replaced));
        PatchTags tags = new PatchTags(doc("{'a':null}"));
        assertJson("{'version':6,'tags':{'a':null}}",
                TwinJson.twinChangeNotification(tags, accepted(replaced.decide(tags, T1, L))));
        assertEquals("updateTwin", tags.opType());
    }

    // ------------------------------------------------------------------ parsing

    @Test
    void parseObjectRejectsNonObjects() {
        rejected(TwinJson.parseObject(utf8("[1,2]"), "properties.reported", L), TwinRule.NOT_AN_OBJECT, "properties.reported");
        rejected(TwinJson.parseObject(utf8("\"x\""), "properties.reported", L), TwinRule.NOT_AN_OBJECT, "properties.reported");
        rejected(TwinJson.parseObject(utf8("null"), "properties.reported", L), TwinRule.NOT_AN_OBJECT, "properties.reported");
        rejected(TwinJson.parseObject(utf8("42"), "", L), TwinRule.NOT_AN_OBJECT, "");
    }

    @Test
    void parseObjectRejectsMalformedJson() {
        rejected(TwinJson.parseObject(new byte[0], "p", L), TwinRule.MALFORMED_JSON, "p");
        rejected(TwinJson.parseObject(utf8("   "), "p", L), TwinRule.MALFORMED_JSON, "p");
        rejected(TwinJson.parseObject(utf8("{\"a\":1"), "p", L), TwinRule.MALFORMED_JSON, "p");
        rejected(TwinJson.parseObject(utf8("{'a':1}"), "p", L), TwinRule.MALFORMED_JSON, "p");
        rejected(TwinJson.parseObject(utf8("{\"a\":NaN}"), "p", L), TwinRule.MALFORMED_JSON, "p");
        rejected(TwinJson.parseObject(utf8("{\"a\":1} {}"), "p", L), TwinRule.MALFORMED_JSON, "p");
        rejected(TwinJson.parseObject(utf8("{\"a\":1} x"), "p", L), TwinRule.MALFORMED_JSON, "p");
        Rejection dup = rejected(TwinJson.parseObject(utf8("{\"a\":1,\"b\":{\"c\":1,\"c\":2}}"), "p", L), TwinRule.MALFORMED_JSON, "p");
        assertTrue(dup.message().contains("Duplicate field 'c'"), dup.message());
    }

    @Test
    void hostileNestingIsStoppedAtParseTime() {
        String deep = "{\"a\":".repeat(100_000) + "1" + "}".repeat(100_000);
        Rejection r = rejected(TwinJson.parseObject(utf8(deep), "properties.desired", L), TwinRule.DEPTH_EXCEEDED,
                "properties.desired" + ".a".repeat(L.maxParseNesting()));
        assertTrue(r.message().contains("" + L.maxParseNesting()));
        String arrays = "{\"a\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";
        assertEquals(TwinRule.DEPTH_EXCEEDED,
                TwinJson.parseObject(utf8(arrays), "", L).optionalRejection().orElseThrow().rule());
    }

    @Test
    void nestingJustBeyondTheLimitIsReportedByTheValidatorWithItsPath() {
        String eleven = "{\"l\":".repeat(11) + "{}" + "}".repeat(11);
        TwinUpdate u = accepted(TwinJson.parseSectionPatch(utf8(eleven), Section.REPORTED, L));
        rejected(TwinState.created(T0).decide(u, T1, L), TwinRule.DEPTH_EXCEEDED, "properties.reported" + ".l".repeat(11));
    }

    @Test
    void hugeNumbersParseAndAreRejectedByValidation() {
        TwinUpdate u = accepted(TwinJson.parseSectionPatch(
                utf8("{\"big\":123456789012345678901234567890}"), Section.REPORTED, L));
        rejected(TwinState.created(T0).decide(u, T1, L), TwinRule.INTEGER_OUT_OF_RANGE, "properties.reported.big");
        TwinUpdate f = accepted(TwinJson.parseSectionPatch(utf8("{\"inf\":1e400}"), Section.REPORTED, L));
        rejected(TwinState.created(T0).decide(f, T1, L), TwinRule.NUMBER_OUT_OF_RANGE, "properties.reported.inf");
        TwinUpdate ok = accepted(TwinJson.parseSectionPatch(utf8("{\"max\":4503599627370495,\"x\":1.25}"), Section.REPORTED, L));
        accepted(TwinState.created(T0).decide(ok, T1, L));
    }

    @Test
    void parseSectionPatchBuildsTheRightUpdate() {
        assertTrue(accepted(TwinJson.parseSectionPatch(utf8("{}"), Section.REPORTED, L)) instanceof PatchReported);
        assertTrue(accepted(TwinJson.parseSectionPatch(utf8("{}"), Section.DESIRED, L)) instanceof PatchDesired);
        assertTrue(accepted(TwinJson.parseSectionPatch(utf8("{}"), Section.TAGS, L)) instanceof PatchTags);
    }

    @Test
    void parseTwinPatchAsTheServiceSdkSendsIt() {
        // iot-service-client 2.x TwinClient.patch: Gson with serializeNulls, so every identity field is null.
        String sdkBody = """
                {"deviceId":null,"moduleId":null,"generationId":null,"etag":null,"version":null,"status":null,
                 "statusReason":null,"statusUpdatedTime":null,"connectionState":null,"connectionStateUpdatedTime":null,
                 "cloudToDeviceMessageCount":null,"lastActivityTime":null,"capabilities":null,"modelId":null,
                 "tags":{},"properties":{"desired":{"fw":"2.0","old":null}},"configurations":null}""";
        TwinUpdate u = accepted(TwinJson.parseTwinPatch(utf8(sdkBody), L));
        UpdateTwin ut = (UpdateTwin) u;
        assertJson("{}", ut.tagsPatch().toObjectNode());
        assertJson("{'fw':'2.0','old':null}", ut.desiredPatch().toObjectNode());

        UpdateTwin tagsOnly = (UpdateTwin) accepted(TwinJson.parseTwinPatch(utf8("{\"tags\":{\"a\":1}}"), L));
        assertJson("{'a':1}", tagsOnly.tagsPatch().toObjectNode());
        assertEquals(null, tagsOnly.desiredPatch());
        UpdateTwin nothing = (UpdateTwin) accepted(TwinJson.parseTwinPatch(utf8("{\"tags\":null,\"properties\":{\"desired\":null}}"), L));
        assertEquals(new UpdateTwin(null, null), nothing);
    }

    @Test
    void parseTwinBodyShapeErrors() {
        rejected(TwinJson.parseTwinPatch(utf8("[]"), L), TwinRule.NOT_AN_OBJECT, "");
        rejected(TwinJson.parseTwinPatch(utf8("{\"tags\":[1]}"), L), TwinRule.NOT_AN_OBJECT, "tags");
        rejected(TwinJson.parseTwinPatch(utf8("{\"tags\":\"x\"}"), L), TwinRule.NOT_AN_OBJECT, "tags");
        rejected(TwinJson.parseTwinPatch(utf8("{\"properties\":1}"), L), TwinRule.NOT_AN_OBJECT, "properties");
        rejected(TwinJson.parseTwinPatch(utf8("{\"properties\":{\"desired\":true}}"), L), TwinRule.NOT_AN_OBJECT, "properties.desired");
        rejected(TwinJson.parseTwinPatch(utf8("{\"properties\":{\"reported\":{\"a\":1}}}"), L), TwinRule.READ_ONLY_MEMBER, "properties.reported");
        rejected(TwinJson.parseTwinReplacement(utf8("{\"properties\":{\"reported\":{}}}"), L), TwinRule.READ_ONLY_MEMBER, "properties.reported");
        // $-members inside a section are refused when the update is decided.
        TwinUpdate u = accepted(TwinJson.parseTwinPatch(utf8("{\"properties\":{\"desired\":{\"$version\":3}}}"), L));
        rejected(TwinState.created(T0).decide(u, T1, L), TwinRule.READ_ONLY_MEMBER, "properties.desired.$version");
    }

    @Test
    void parseTwinReplacementTreatsAbsentPartsAsEmpty() {
        ReplaceTwin r = (ReplaceTwin) accepted(TwinJson.parseTwinReplacement(utf8("{\"properties\":{\"desired\":{\"a\":1}}}"), L));
        assertJson("{}", r.tags().toObjectNode());
        assertJson("{'a':1}", r.desired().toObjectNode());
        ReplaceTwin empty = (ReplaceTwin) accepted(TwinJson.parseTwinReplacement(utf8("{\"tags\":null}"), L));
        assertEquals(new ReplaceTwin(JsonDoc.empty(), JsonDoc.empty()), empty);
    }

    @Test
    void roundTripThroughRenderAndParse() {
        TwinState s = twin(null).state();
        ObjectNode rendered = TwinJson.serviceView(twin(null));
        ReplaceTwin r = (ReplaceTwin) accepted(TwinJson.parseTwinReplacement(TwinJson.toBytes(
                new ObjectMapper().createObjectNode().<ObjectNode>set("tags", rendered.get("tags"))), L));
        assertEquals(s.tags(), r.tags());
    }

    @Test
    void domainValuesSerialiseWithJacksonForEventsAndSnapshots() throws Exception {
        // The entity persists TwinUpdate and snapshots Twin with akka-serialization-jackson, which
        // registers the java.time module; a plain mapper with that module stands in for it here.
        ObjectMapper m = new ObjectMapper().registerModule(new JavaTimeModule()); // fails on unknown properties
        Twin t = twin(null);
        Twin back = m.readValue(m.writeValueAsBytes(t), Twin.class);
        assertEquals(t, back);
        TwinUpdate u = new UpdateTwin(doc("{'a':{'b':[1,null]}}"), null);
        byte[] json = m.writeValueAsBytes(u);
        assertEquals("{\"op\":\"updateTwin\",\"tagsPatch\":{\"a\":{\"b\":[1,null]}},\"desiredPatch\":null}",
                new String(json, StandardCharsets.UTF_8));
        assertEquals(u, m.readValue(json, TwinUpdate.class));
        assertEquals(t.state().apply(u, T1), back.state().apply(m.readValue(json, TwinUpdate.class), T1));
    }
}
