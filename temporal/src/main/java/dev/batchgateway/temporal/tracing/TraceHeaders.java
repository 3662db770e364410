package dev.batchgateway.temporal.tracing;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.temporal.api.common.v1.Payload;
import io.temporal.common.converter.DataConverterException;
import io.temporal.common.converter.GlobalDataConverter;
import io.temporal.common.interceptors.Header;
import java.util.HashMap;
import java.util.Map;

/**
 * Carries a span's context in a Temporal header, as a small JSON map of W3C trace-context fields
 * ({@code traceparent}, {@code tracestate}) under {@code _tracer-data}, the key Temporal's tracing
 * interceptors in other SDKs use, so a trace goes on across processes through workflow and activity
 * tasks.
 */
final class TraceHeaders {
  static final String KEY = "_tracer-data";

  private static final TextMapGetter<Map<String, String>> GETTER =
      new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Map<String, String> carrier) {
          return carrier.keySet();
        }

        @Override
        public String get(Map<String, String> carrier, String key) {
          return carrier == null ? null : carrier.get(key);
        }
      };

  private final TextMapPropagator propagator;

  TraceHeaders(TextMapPropagator propagator) {
    this.propagator = propagator;
  }

  /** Writes {@code context}'s span into {@code header}; nothing when it holds no valid span. */
  void inject(Context context, Header header) {
    if (!Span.fromContext(context).getSpanContext().isValid()) {
      return;
    }
    Map<String, String> carrier = new HashMap<>();
    propagator.inject(context, carrier, Map::put);
    if (carrier.isEmpty()) {
      return;
    }
    GlobalDataConverter.get()
        .toPayload(carrier)
        .ifPresent(payload -> header.getValues().put(KEY, payload));
  }

  /** The span context {@code header} carries, under the root context; the root when none. */
  Context extract(Header header) {
    Payload payload = header == null ? null : header.getValues().get(KEY);
    if (payload == null) {
      return Context.root();
    }
    Map<String, String> carrier;
    try {
      carrier = readCarrier(payload);
    } catch (DataConverterException | ClassCastException e) {
      return Context.root();
    }
    return propagator.extract(Context.root(), carrier, GETTER);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, String> readCarrier(Payload payload) {
    Map<String, Object> raw = GlobalDataConverter.get().fromPayload(payload, Map.class, Map.class);
    Map<String, String> carrier = new HashMap<>();
    if (raw != null) {
      raw.forEach(
          (key, value) -> {
            if (value instanceof String text) {
              carrier.put(key, text);
            }
          });
    }
    return carrier;
  }
}
