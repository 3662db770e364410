package dev.batchgateway.service.errors;

import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import java.sql.SQLException;
import org.jdbi.v3.core.ConnectionException;
import org.jdbi.v3.core.JdbiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A database that cannot be reached is answered at once with a 503 the client may retry, in the
 * envelope and without a stack trace; other database errors are unexpected.
 */
public final class StoreUnavailableMapper implements ExceptionMapper<JdbiException> {
  private static final Logger log = LoggerFactory.getLogger(StoreUnavailableMapper.class);
  private final UnexpectedExceptionMapper unexpected = new UnexpectedExceptionMapper();

  @Override
  public Response toResponse(JdbiException e) {
    if (isUnstorableText(e)) {
      // Not the database's fault: the request held text PostgreSQL refuses, NUL above all.
      return ErrorResponses.of(
          ApiException.badRequest(
              "The request holds a character that cannot be stored (such as NUL, \\u0000) in an"
                  + " id, name, cursor or field; remove it.",
              null));
    }
    if (!isUnavailable(e)) {
      return unexpected.toResponse(e);
    }
    log.warn("Database unavailable: {}", e.getMessage());
    return ErrorResponses.of(
        new ApiException(
            503,
            "server_error",
            "The service is temporarily unavailable: its database cannot be reached. Please retry"
                + " shortly.",
            null,
            "service_unavailable",
            true));
  }

  /**
   * No connection could be had, or it broke: SQLState class 08 (connection exception) or 57P
   * (operator intervention, such as a server shutting down).
   */
  /**
   * Text PostgreSQL will not store, whatever the column: 22021 (a NUL byte in a text value) and
   * 22P05 (a NUL escape in JSON it parses). Both come from what the client sent.
   */
  static boolean isUnstorableText(Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof SQLException sql
          && ("22021".equals(sql.getSQLState()) || "22P05".equals(sql.getSQLState()))) {
        return true;
      }
    }
    return false;
  }

  static boolean isUnavailable(Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof ConnectionException) {
        return true;
      }
      if (cause instanceof SQLException sql && sql.getSQLState() != null) {
        String state = sql.getSQLState();
        if (state.startsWith("08") || state.startsWith("57P")) {
          return true;
        }
      }
    }
    return false;
  }
}
