package dev.batchgateway.service.resources;

import dev.batchgateway.service.errors.ApiException;

/** Parsing of list parameters shared by the list endpoints. */
final class Pagination {
  private Pagination() {}

  static int limit(String value, int min, int max, int fallback) {
    if (value == null || value.isEmpty()) {
      return fallback;
    }
    int limit;
    try {
      limit = Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw ApiException.badRequest("'limit' must be an integer.", "limit");
    }
    if (limit < min || limit > max) {
      throw ApiException.badRequest(
          "'limit' must be between " + min + " and " + max + ".", "limit");
    }
    return limit;
  }
}
