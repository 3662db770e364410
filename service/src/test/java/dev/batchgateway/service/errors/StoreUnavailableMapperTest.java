package dev.batchgateway.service.errors;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import org.junit.jupiter.api.Test;

class StoreUnavailableMapperTest {

  @Test
  void connectionAndShutdownStatesAreUnavailable() {
    assertThat(StoreUnavailableMapper.isUnavailable(new SQLException("refused", "08001"))).isTrue();
    assertThat(
            StoreUnavailableMapper.isUnavailable(
                new RuntimeException(new SQLException("shutting down", "57P01"))))
        .isTrue();
  }

  @Test
  void otherDatabaseErrorsAreNot() {
    assertThat(StoreUnavailableMapper.isUnavailable(new SQLException("duplicate", "23505")))
        .isFalse();
    assertThat(StoreUnavailableMapper.isUnavailable(new IllegalStateException("bug"))).isFalse();
  }

  @Test
  void theAnswerIsA503InTheEnvelope() {
    var response =
        new StoreUnavailableMapper()
            .toResponse(
                new org.jdbi.v3.core.ConnectionException(new SQLException("refused", "08001")));

    assertThat(response.getStatus()).isEqualTo(503);
    assertThat(response.getHeaderString("x-should-retry")).isEqualTo("true");
  }

  /** Found by the fuzz suite: a NUL in an id, filename or cursor was a 500. */
  @Test
  void textTheDatabaseCannotStoreIsA400NotA500() {
    for (String state : new String[] {"22021", "22P05"}) {
      var response =
          new StoreUnavailableMapper()
              .toResponse(
                  new org.jdbi.v3.core.statement.UnableToExecuteStatementException(
                      new SQLException("invalid byte sequence for encoding \"UTF8\": 0x00", state),
                      null));

      assertThat(response.getStatus()).as(state).isEqualTo(400);
      assertThat(response.getHeaderString("x-should-retry")).isEqualTo("false");
    }
    assertThat(StoreUnavailableMapper.isUnstorableText(new SQLException("duplicate", "23505")))
        .isFalse();
  }
}
