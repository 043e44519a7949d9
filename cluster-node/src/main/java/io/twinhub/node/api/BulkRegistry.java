package io.twinhub.node.api;

import akka.stream.Materializer;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.ETag;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.Outcome;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import io.twinhub.twin.error.RejectionErrors;
import io.twinhub.twin.service.TwinService;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * {@code POST /devices}: create, update or delete up to {@code max-bulk-devices} device identities
 * in one call (IoT Hub's bulk registry operation). The body is an array of
 * {@code ExportImportDevice} ({@code id}, {@code importMode}, {@code eTag}, {@code status},
 * {@code statusReason}, {@code authentication}, {@code capabilities}).
 *
 * <p>The request is checked as a whole first (JSON, size of the list, every entry's shape, each id
 * once): any problem refuses it with 400 and nothing changes. Then each entry runs against its
 * device entity ({@code fan-out} at a time); as in IoT Hub the entries are independent, and the
 * answer is {@code {"isSuccessful":..,"errors":[{"deviceId","errorCode","errorStatus"}],
 * "warnings":[]}}: 200 when every entry succeeded, 400 otherwise.
 */
final class BulkRegistry {

  /** IoT Hub's ImportMode. */
  enum ImportMode {
    CREATE_OR_UPDATE("createOrUpdate"),
    CREATE("create"),
    UPDATE("update"),
    UPDATE_IF_MATCH_ETAG("updateIfMatchETag"),
    CREATE_OR_UPDATE_IF_MATCH_ETAG("createOrUpdateIfMatchETag"),
    DELETE("delete"),
    DELETE_IF_MATCH_ETAG("deleteIfMatchETag");

    final String wire;

    ImportMode(String wire) {
      this.wire = wire;
    }

    static Optional<ImportMode> fromWire(String s) {
      for (ImportMode m : values()) {
        if (m.wire.equalsIgnoreCase(s)) return Optional.of(m);
      }
      return Optional.empty();
    }

    boolean needsETag() {
      return this == UPDATE_IF_MATCH_ETAG || this == CREATE_OR_UPDATE_IF_MATCH_ETAG || this == DELETE_IF_MATCH_ETAG;
    }

    boolean deletes() {
      return this == DELETE || this == DELETE_IF_MATCH_ETAG;
    }
  }

  sealed interface Result {}

  /** The request as a whole is refused; nothing ran. */
  record Refused(IotHubError error) implements Result, Plan {}

  /** What a well-formed request asks for. */
  sealed interface Plan {}

  record Operations(List<Operation> operations) implements Plan {}

  /** Every entry ran; {@code body} is the BulkRegistryOperationResult. */
  record Done(boolean succeeded, ObjectNode body) implements Result {}

  record Operation(String deviceId, ImportMode mode, String etag, IdentitySpec spec) {}

  private record Ran(Operation operation, TwinReply reply) {}

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final ObjectMapper STRICT = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();

  private final TwinService twins;
  private final ApiSettings settings;
  private final Materializer materializer;

  BulkRegistry(TwinService twins, ApiSettings settings, Materializer materializer) {
    this.twins = twins;
    this.settings = settings;
    this.materializer = materializer;
  }

  CompletionStage<Result> execute(byte[] body) {
    Plan plan = parse(body);
    if (plan instanceof Refused refused) {
      return CompletableFuture.completedFuture(refused);
    }
    return Source.from(((Operations) plan).operations())
        .mapAsync(settings.fanOut(), op -> run(op).thenApply(reply -> new Ran(op, reply)))
        .runWith(Sink.seq(), materializer)
        .thenApply(results -> {
          ArrayNode errors = NODES.arrayNode();
          for (Ran ran : results) {
            if (ran.reply() instanceof TwinReply.Rejected rejected) {
              ObjectNode e = errors.addObject();
              e.put("deviceId", ran.operation().deviceId());
              e.put("errorCode", rejected.error().code().name());
              e.put("errorStatus", rejected.error().message());
            }
          }
          ObjectNode out = NODES.objectNode();
          out.put("isSuccessful", errors.isEmpty());
          out.set("errors", errors);
          out.putArray("warnings");
          return new Done(errors.isEmpty(), out);
        });
  }

  private CompletionStage<TwinReply> run(Operation op) {
    return switch (op.mode()) {
      case CREATE -> twins.createDevice(op.deviceId(), op.spec());
      case UPDATE -> twins.updateDevice(op.deviceId(), op.spec(), "*");
      case UPDATE_IF_MATCH_ETAG -> twins.updateDevice(op.deviceId(), op.spec(), op.etag());
      case CREATE_OR_UPDATE -> orCreate(op, twins.updateDevice(op.deviceId(), op.spec(), "*"));
      case CREATE_OR_UPDATE_IF_MATCH_ETAG -> orCreate(op, twins.updateDevice(op.deviceId(), op.spec(), op.etag()));
      case DELETE -> twins.deleteDevice(op.deviceId(), "*");
      case DELETE_IF_MATCH_ETAG -> twins.deleteDevice(op.deviceId(), op.etag());
    };
  }

  private CompletionStage<TwinReply> orCreate(Operation op, CompletionStage<TwinReply> update) {
    return update.thenCompose(r -> r instanceof TwinReply.Rejected rej && rej.error().code() == IotHubErrorCode.DeviceNotFound
        ? twins.createDevice(op.deviceId(), op.spec())
        : CompletableFuture.completedFuture(r));
  }

  /** The operations, or why the whole request is refused. */
  Plan parse(byte[] body) {
    JsonNode root;
    try {
      root = body.length == 0 ? null : STRICT.readTree(body);
    } catch (JsonProcessingException e) {
      return new Refused(IotHubErrorCode.IotHubFormatError.error("malformed JSON: " + e.getOriginalMessage()
          + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")")));
    } catch (IOException e) {
      return new Refused(IotHubErrorCode.IotHubFormatError.error("malformed JSON"));
    }
    if (root == null || root.isMissingNode()) {
      return new Refused(IotHubErrorCode.IotHubFormatError.error("empty body; expected an array of devices"));
    }
    if (!root.isArray()) {
      return new Refused(IotHubErrorCode.IotHubFormatError.error("expected a JSON array of devices, got " + root.getNodeType().name().toLowerCase()));
    }
    if (root.isEmpty()) {
      return new Refused(IotHubErrorCode.ArgumentInvalid.error("the list of devices is empty"));
    }
    if (root.size() > settings.maxBulkDevices()) {
      return new Refused(IotHubErrorCode.ArgumentInvalid.error("at most " + settings.maxBulkDevices()
          + " devices per bulk operation, got " + root.size()));
    }
    List<Operation> ops = new ArrayList<>(root.size());
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < root.size(); i++) {
      JsonNode entry = root.get(i);
      String at = "devices[" + i + "]";
      if (!entry.isObject()) {
        return new Refused(IotHubErrorCode.ArgumentInvalid.error(at + " must be an object"));
      }
      JsonNode id = entry.get("id");
      if (id == null || !id.isTextual()) {
        return new Refused(IotHubErrorCode.ArgumentInvalid.error(at + ".id is required and must be a string"));
      }
      Optional<IotHubError> badId = Identity.checkId(id.textValue(), at + ".id").map(RejectionErrors::toError);
      if (badId.isPresent()) {
        return new Refused(badId.get());
      }
      if (!seen.add(id.textValue())) {
        return new Refused(IotHubErrorCode.DeviceDefinedMultipleTimes.error("device '" + id.textValue() + "' is named more than once"));
      }
      JsonNode modeNode = entry.get("importMode");
      ImportMode mode = ImportMode.CREATE_OR_UPDATE;
      if (modeNode != null && !modeNode.isNull()) {
        Optional<ImportMode> m = modeNode.isTextual() ? ImportMode.fromWire(modeNode.textValue()) : Optional.empty();
        if (m.isEmpty()) {
          return new Refused(IotHubErrorCode.ArgumentInvalid.error(at + ".importMode must be one of createOrUpdate, create, update, "
              + "updateIfMatchETag, createOrUpdateIfMatchETag, delete, deleteIfMatchETag"));
        }
        mode = m.get();
      }
      // IoT Hub reads its JSON case-insensitively: the Java SDK sends "eTag", a Node SDK user passes
      // the "etag" of a fetched Device. Quoted or not, as an If-Match header (ETag.parseIfMatch).
      JsonNode etagNode = fieldIgnoringCase(entry, "eTag");
      if (etagNode != null && !etagNode.isNull() && !etagNode.isTextual()) {
        return new Refused(IotHubErrorCode.ArgumentInvalid.error(at + ".eTag must be a string"));
      }
      Outcome<Optional<String>> parsedEtag = ETag.parseIfMatch(etagNode == null ? null : etagNode.textValue());
      if (parsedEtag instanceof Outcome.Rejected<Optional<String>> r) {
        return new Refused(IotHubErrorCode.ArgumentInvalid.error(at + ".eTag: " + r.rejection().message()));
      }
      String etag = ((Outcome.Accepted<Optional<String>>) parsedEtag).value().orElse(null);
      if (mode.needsETag() && etag == null) {
        return new Refused(IotHubErrorCode.ArgumentInvalid.error(at + ".eTag is required for importMode " + mode.wire));
      }
      if (hasValue(entry, "tags") || hasValue(entry, "properties")) {
        return new Refused(IotHubErrorCode.ArgumentInvalid.error(at + ": tags and properties are not set by bulk operations; "
            + "update the twin (PATCH /twins/{id}) instead"));
      }
      IdentitySpec spec = null;
      if (!mode.deletes()) {
        ObjectNode asIdentity = ((ObjectNode) entry).deepCopy();
        asIdentity.remove(List.of("id", "importMode"));
        asIdentity.remove(etagFieldNames(asIdentity));
        RegistryJson.Parsed p = RegistryJson.parse(asIdentity, id.textValue(), null);
        if (p instanceof RegistryJson.Invalid invalid) {
          return new Refused(IotHubErrorCode.ArgumentInvalid.error(at + ": " + invalid.error().message()));
        }
        spec = ((RegistryJson.Spec) p).spec();
      }
      ops.add(new Operation(id.textValue(), mode, etag, spec));
    }
    return new Operations(ops);
  }

  private static JsonNode fieldIgnoringCase(JsonNode entry, String name) {
    for (var it = entry.fields(); it.hasNext(); ) {
      var f = it.next();
      if (f.getKey().equalsIgnoreCase(name)) return f.getValue();
    }
    return null;
  }

  private static List<String> etagFieldNames(JsonNode entry) {
    List<String> names = new ArrayList<>();
    entry.fieldNames().forEachRemaining(n -> {
      if (n.equalsIgnoreCase("eTag")) names.add(n);
    });
    return names;
  }

  private static boolean hasValue(JsonNode entry, String field) {
    JsonNode n = entry.get(field);
    return n != null && !n.isNull();
  }
}
