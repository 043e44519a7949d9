package io.twinhub.projections.index;

import akka.actor.typed.ActorSystem;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializers;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.entity.TwinRecord;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The projection's fold state of one twin ({@link TwinRecord}) as bytes stored in its index
 * document, serialized exactly as the journal serializes it (Akka serialization, the node's
 * Jackson binding). Symmetric keys are dropped first: no twin query needs them, and the index
 * directory is not where secrets should live.
 */
final class TwinStateCodec {
  private final Serialization serialization;

  TwinStateCodec(ActorSystem<?> system) {
    this.serialization = SerializationExtension.get(system.classicSystem());
  }

  byte[] encode(TwinRecord record) {
    TwinRecord r = withoutKeys(record);
    akka.serialization.Serializer s = serialization.findSerializerFor(r);
    String manifest = Serializers.manifestFor(s, r);
    byte[] payload = serialization.serialize(r).get();
    byte[] m = manifest.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(8 + m.length + payload.length)
        .putInt(s.identifier()).putInt(m.length).put(m).put(payload).array();
  }

  TwinRecord decode(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    int id = b.getInt();
    byte[] m = new byte[b.getInt()];
    b.get(m);
    byte[] payload = new byte[b.remaining()];
    b.get(payload);
    return (TwinRecord) serialization.deserialize(payload, id, new String(m, StandardCharsets.UTF_8)).get();
  }

  static TwinRecord withoutKeys(TwinRecord r) {
    if (r.twin() == null) return r;
    Identity i = r.twin().identity();
    Authentication a = i.authentication();
    if (a.symmetricKey().primaryKey() == null && a.symmetricKey().secondaryKey() == null) return r;
    Identity stripped = i.withAuthentication(new Authentication(a.type(), Authentication.SymmetricKey.NONE, a.x509Thumbprint()));
    return new TwinRecord(new Twin(stripped, r.twin().state()), r.deleted(), r.modules(), r.pendingModuleDeletions());
  }
}
