package dev.batchgateway.service.db;

import io.dropwizard.db.DataSourceFactory;
import org.flywaydb.core.Flyway;

/** Brings the schema up to date (db/migration); run by the gateway and by its commands. */
public final class Migrations {
  private Migrations() {}

  public static void apply(DataSourceFactory database) {
    Flyway.configure()
        .dataSource(database.getUrl(), database.getUser(), database.getPassword())
        .load()
        .migrate();
  }
}
