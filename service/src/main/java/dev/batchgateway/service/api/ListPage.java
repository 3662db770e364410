package dev.batchgateway.service.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.function.Function;

/** A cursor page: {@code {object: "list", data, first_id, last_id, has_more}}. */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record ListPage<T>(
    String object,
    List<T> data,
    @JsonProperty("first_id") String firstId,
    @JsonProperty("last_id") String lastId,
    @JsonProperty("has_more") boolean hasMore) {

  /**
   * @param rows up to {@code limit + 1} rows; one more than the limit means another page follows
   */
  public static <R, T> ListPage<T> of(
      List<R> rows, int limit, Function<R, T> render, Function<R, String> id) {
    boolean more = rows.size() > limit;
    List<R> page = more ? rows.subList(0, limit) : rows;
    return new ListPage<>(
        "list",
        page.stream().map(render).toList(),
        page.isEmpty() ? null : id.apply(page.get(0)),
        page.isEmpty() ? null : id.apply(page.get(page.size() - 1)),
        more);
  }
}
