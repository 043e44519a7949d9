package io.twinhub.twin.domain;

import static io.twinhub.twin.domain.TestJson.accepted;
import static io.twinhub.twin.domain.TestJson.at;
import static io.twinhub.twin.domain.TestJson.rejected;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Base64;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class IdentityTest {

    private static final String KEY = Base64.getEncoder().encodeToString(new byte[32]);
    private static final IdentitySpec SAS = new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(KEY, KEY), false);

    private static Identity device() {
        return accepted(Identity.create("dev1", null, SAS, "637000000000000001"));
    }

    @Test
    void createDeviceAndModule() {
        Identity d = device();
        assertEquals(1, d.version());
        assertEquals("MQ==", d.etag());
        assertEquals(ConnectionState.DISCONNECTED, d.connectionState());
        assertNull(d.statusUpdatedTime());
        assertEquals("", d.modelId());
        assertFalse(d.isModule());
        Identity m = accepted(Identity.create("dev1", "$edgeAgent",
                new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(KEY, KEY), true), "g"));
        assertTrue(m.isModule());
        assertFalse(m.iotEdge(), "capabilities belong to devices");
    }

    @Test
    void idSyntax() {
        accepted(Identity.create("a-b.c+d%e_f#g*h?i!j(k)l,m:n=o@p$q'r", null, SAS, "g"));
        accepted(Identity.create("x".repeat(128), null, SAS, "g"));
        rejected(Identity.create("x".repeat(129), null, SAS, "g"), TwinRule.ID_INVALID, "deviceId");
        rejected(Identity.create("a b", null, SAS, "g"), TwinRule.ID_INVALID, "deviceId");
        rejected(Identity.create("a/b", null, SAS, "g"), TwinRule.ID_INVALID, "deviceId");
        rejected(Identity.create("", null, SAS, "g"), TwinRule.ID_INVALID, "deviceId");
        rejected(Identity.create(null, null, SAS, "g"), TwinRule.ID_INVALID, "deviceId");
        rejected(Identity.create("dev", "m/1", SAS, "g"), TwinRule.ID_INVALID, "moduleId");
    }

    @Test
    void authenticationChecks() {
        rejected(Identity.create("d", null, new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(null, KEY), false), "g"),
                TwinRule.AUTHENTICATION_INVALID, "authentication.symmetricKey.primaryKey");
        rejected(Identity.create("d", null, new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(KEY, "not base64!"), false), "g"),
                TwinRule.AUTHENTICATION_INVALID, "authentication.symmetricKey.secondaryKey");
        String shortKey = Base64.getEncoder().encodeToString(new byte[15]);
        rejected(Identity.create("d", null, new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(shortKey, KEY), false), "g"),
                TwinRule.AUTHENTICATION_INVALID, "authentication.symmetricKey.primaryKey");
        accepted(Identity.create("d", null, new IdentitySpec(DeviceStatus.ENABLED, null,
                Authentication.selfSigned("a".repeat(40), "B".repeat(64)), false), "g"));
        rejected(Identity.create("d", null, new IdentitySpec(DeviceStatus.ENABLED, null,
                Authentication.selfSigned(null, null), false), "g"),
                TwinRule.AUTHENTICATION_INVALID, "authentication.x509Thumbprint.primaryThumbprint");
        rejected(Identity.create("d", null, new IdentitySpec(DeviceStatus.ENABLED, null,
                Authentication.selfSigned("a".repeat(40), "xyz"), false), "g"),
                TwinRule.AUTHENTICATION_INVALID, "authentication.x509Thumbprint.secondaryThumbprint");
        accepted(Identity.create("d", null, new IdentitySpec(DeviceStatus.ENABLED, null,
                Authentication.certificateAuthority(), false), "g"));
    }

    @Test
    void missingSasKeysAreGeneratedFromTheCallersRandomness() {
        Authentication a = new Authentication(AuthenticationType.SAS, null, null)
                .withKeysGeneratedIfAbsent(new SplittableRandom(1));
        assertNotNull(a.symmetricKey().primaryKey());
        assertEquals(32, Base64.getDecoder().decode(a.symmetricKey().secondaryKey()).length);
        assertTrue(a.check().isEmpty());
        assertEquals(a, new Authentication(AuthenticationType.SAS, null, null).withKeysGeneratedIfAbsent(new SplittableRandom(1)));
        Authentication kept = Authentication.sas(KEY, null).withKeysGeneratedIfAbsent(new SplittableRandom(2));
        assertEquals(KEY, kept.symmetricKey().primaryKey());
    }

    @Test
    void updateIsConditionalAndTracksStatusChanges() {
        Identity d = device();
        IdentitySpec disable = new IdentitySpec(DeviceStatus.DISABLED, "stolen", Authentication.sas(KEY, KEY), true);
        rejected(d.update(disable, "\"bm9wZQ==\"", at("2026-01-01T00:00:00Z")), TwinRule.PRECONDITION_FAILED, "");
        Identity u = accepted(d.update(disable, "\"" + d.etag() + "\"", at("2026-01-01T00:00:00.5Z")));
        assertEquals(2, u.version());
        assertEquals("Mg==", u.etag());
        assertEquals(DeviceStatus.DISABLED, u.status());
        assertEquals("stolen", u.statusReason());
        assertEquals(at("2026-01-01T00:00:00.5Z"), u.statusUpdatedTime());
        assertTrue(u.iotEdge());
        Identity same = accepted(u.update(disable, "*", at("2026-02-01T00:00:00Z")));
        assertEquals(at("2026-01-01T00:00:00.5Z"), same.statusUpdatedTime(), "status unchanged: time kept");
        accepted(u.checkDelete("*"));
        accepted(u.checkDelete(u.etag()));
        rejected(u.checkDelete(d.etag()), TwinRule.PRECONDITION_FAILED, "");
    }

    @Test
    void aRecreatedIdentityContinuesTheEtagSequence() {
        Identity old = accepted(device().update(SAS, "*", at("2026-01-01T00:00:00Z")));
        Identity again = device().continuing(old);
        assertEquals(3, again.version());
        assertEquals("Mw==", again.etag());
        assertEquals(device().generationId(), again.generationId());
    }

    @Test
    void connectionStateAndActivityDoNotChangeTheEtag() {
        Identity d = device();
        Identity c = d.withConnectionState(ConnectionState.CONNECTED, at("2026-01-01T00:00:00.123456Z"));
        assertEquals(ConnectionState.CONNECTED, c.connectionState());
        assertEquals(at("2026-01-01T00:00:00.123Z"), c.connectionStateUpdatedTime());
        assertEquals(at("2026-01-01T00:00:00.123Z"), c.lastActivityTime());
        assertEquals(d.etag(), c.etag());
        Identity a = c.withActivity(at("2026-01-01T00:01:00Z")).withCloudToDeviceMessageCount(3).withModelId("dtmi:x;1");
        assertEquals(at("2026-01-01T00:01:00Z"), a.lastActivityTime());
        assertEquals(at("2026-01-01T00:00:00.123Z"), a.connectionStateUpdatedTime());
        assertEquals(3, a.cloudToDeviceMessageCount());
        assertEquals("dtmi:x;1", a.modelId());
        assertEquals(d.version(), a.version());
    }

    @Test
    void anIotEdgeDeviceHasItsOwnScopeAndALeafDeviceTakesItsGatewaysAsParent() throws Exception {
        Identity edge = accepted(Identity.create("gw", null,
                new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(KEY, KEY), true), "6370001"));
        assertEquals("ms-azure-iot-edge://gw-6370001", edge.deviceScope());
        assertEquals(java.util.List.of(), edge.parentScopes());
        Identity leaf = accepted(Identity.create("leaf", null,
                new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(KEY, KEY), false, edge.deviceScope(), null), "1"));
        assertEquals(edge.deviceScope(), leaf.deviceScope());
        assertEquals(java.util.List.of(edge.deviceScope()), leaf.parentScopes());
        assertTrue(leaf.isChildOf(edge.deviceScope()));
        assertFalse(leaf.isChildOf("ms-azure-iot-edge://other-1"));
        assertFalse(device().isChildOf(edge.deviceScope()));
        // An update that does not name scopes keeps them; "" takes the device from behind its gateway.
        Identity kept = accepted(leaf.update(SAS, "*", java.time.Instant.EPOCH));
        assertEquals(java.util.List.of(edge.deviceScope()), kept.parentScopes());
        Identity gone = accepted(leaf.update(new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(KEY, KEY), false, "", null), "*", java.time.Instant.EPOCH));
        assertEquals("", gone.deviceScope());
        assertEquals(java.util.List.of(), gone.parentScopes());
        // A back end echoing the edge device's own deviceScope does not make it its own parent.
        Identity echoed = accepted(edge.update(new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(KEY, KEY), true, edge.deviceScope(), null), "*", java.time.Instant.EPOCH));
        assertEquals(edge.deviceScope(), echoed.deviceScope());
        assertEquals(java.util.List.of(), echoed.parentScopes());
        // Journaled identities from before scopes existed read back without any.
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper().findAndRegisterModules();
        com.fasterxml.jackson.databind.node.ObjectNode old = json.valueToTree(device());
        old.remove("deviceScope");
        old.remove("parentScopes");
        Identity read = json.treeToValue(old, Identity.class);
        assertEquals("", read.deviceScope());
        assertEquals(java.util.List.of(), read.parentScopes());
        assertEquals(leaf, json.readValue(json.writeValueAsString(leaf), Identity.class));
    }
}
