package dev.batchgateway.temporal;

import dev.batchgateway.workflows.BatchSearchAttributes;
import io.temporal.api.enums.v1.IndexedValueType;
import io.temporal.api.operatorservice.v1.AddSearchAttributesRequest;
import io.temporal.api.operatorservice.v1.ListSearchAttributesRequest;
import io.temporal.api.operatorservice.v1.ListSearchAttributesResponse;
import io.temporal.common.SearchAttributeKey;
import io.temporal.serviceclient.OperatorServiceStubs;
import io.temporal.serviceclient.OperatorServiceStubsOptions;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adds the batch search attributes to the namespace when they are missing, so a gateway pointed at
 * any Temporal works without a manual {@code temporal operator search-attribute create}.
 */
public final class SearchAttributeRegistrar {
  private static final Logger log = LoggerFactory.getLogger(SearchAttributeRegistrar.class);

  private SearchAttributeRegistrar() {}

  /** Returns true once every attribute exists. */
  public static boolean ensure(TemporalConnection connection) {
    OperatorServiceStubs operator =
        OperatorServiceStubs.newServiceStubs(
            OperatorServiceStubsOptions.newBuilder()
                .setChannel(connection.stubs().getRawChannel())
                .validateAndBuildWithDefaults());
    try {
      ListSearchAttributesResponse existing =
          operator
              .blockingStub()
              .listSearchAttributes(
                  ListSearchAttributesRequest.newBuilder()
                      .setNamespace(connection.namespace())
                      .build());
      Map<String, IndexedValueType> missing = new HashMap<>();
      for (SearchAttributeKey<?> key : BatchSearchAttributes.ALL) {
        if (!existing.getCustomAttributesMap().containsKey(key.getName())) {
          missing.put(key.getName(), key.getValueType());
        }
      }
      if (!missing.isEmpty()) {
        log.info("Registering search attributes {}", missing.keySet());
        operator
            .blockingStub()
            .addSearchAttributes(
                AddSearchAttributesRequest.newBuilder()
                    .setNamespace(connection.namespace())
                    .putAllSearchAttributes(missing)
                    .build());
      }
      return true;
    } finally {
      operator.shutdown();
    }
  }
}
