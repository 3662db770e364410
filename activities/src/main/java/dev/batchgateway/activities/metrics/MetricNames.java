package dev.batchgateway.activities.metrics;

/**
 * How the gateway names its metrics in the Dropwizard registry so the admin port's Prometheus
 * exposition can read them back: {@code family[label=value,label=value]}. The family is the
 * Prometheus name as exposed (snake_case, the unit in the name; counters end in {@code _total});
 * the labels are the dimensions (pool, status, outcome...). Label values must not contain {@code
 * ,}, {@code =} or {@code ]}. Names are built once, when a metric is registered, never per request.
 */
public final class MetricNames {
  private MetricNames() {}

  /** {@code family[k1=v1,k2=v2]}; {@code labels} alternate names and values. */
  public static String labeled(String family, String... labels) {
    if (labels.length % 2 != 0) {
      throw new IllegalArgumentException("labels come in name, value pairs");
    }
    if (labels.length == 0) {
      return family;
    }
    StringBuilder name = new StringBuilder(family).append('[');
    for (int i = 0; i < labels.length; i += 2) {
      if (i > 0) {
        name.append(',');
      }
      name.append(labels[i]).append('=').append(clean(labels[i + 1]));
    }
    return name.append(']').toString();
  }

  /** A label value as the name can carry it: the separators are replaced. */
  static String clean(String value) {
    if (value == null) {
      return "";
    }
    return value.replace(',', '_').replace('=', '_').replace(']', '_');
  }
}
