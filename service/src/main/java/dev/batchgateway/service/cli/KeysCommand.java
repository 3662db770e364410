package dev.batchgateway.service.cli;

import dev.batchgateway.service.BatchGatewayConfiguration;
import dev.batchgateway.service.auth.ApiKeys;
import dev.batchgateway.service.auth.KeyFormat;
import dev.batchgateway.service.auth.StoredKey;
import dev.batchgateway.service.db.JdbiApiKeyStore;
import dev.batchgateway.service.db.Migrations;
import io.dropwizard.core.cli.ConfiguredCommand;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.db.DataSourceFactory;
import java.io.PrintStream;
import java.time.Instant;
import java.util.List;
import net.sourceforge.argparse4j.inf.Namespace;
import net.sourceforge.argparse4j.inf.Subparser;
import net.sourceforge.argparse4j.inf.Subparsers;
import org.jdbi.v3.core.Jdbi;

/**
 * {@code keys create --tenant t}, {@code keys list [--tenant t]}, {@code keys revoke <id>}, each
 * followed by the configuration file: API keys in PostgreSQL. A created key is printed once and
 * never stored; a revoked key is refused by every gateway process within seconds.
 */
public final class KeysCommand extends ConfiguredCommand<BatchGatewayConfiguration> {
  private static final String ACTION = "action";

  private final PrintStream out;

  public KeysCommand(PrintStream out) {
    super("keys", "Creates, lists and revokes API keys (stored as salted hashes in PostgreSQL)");
    this.out = out;
  }

  @Override
  public void configure(Subparser subparser) {
    Subparsers actions = subparser.addSubparsers().dest(ACTION).title("actions");
    Subparser create =
        actions.addParser("create").help("Creates a key for a tenant and prints it, once");
    create.addArgument("--tenant").required(true).help("the tenant the key acts for");
    addFileArgument(create);
    Subparser list = actions.addParser("list").help("Lists keys (ids, never secrets)");
    list.addArgument("--tenant").help("only this tenant's keys");
    addFileArgument(list);
    Subparser revoke = actions.addParser("revoke").help("Revokes a key by its id");
    revoke.addArgument("id").help("the key's id, as `keys list` prints it");
    addFileArgument(revoke);
  }

  @Override
  protected void run(
      Bootstrap<BatchGatewayConfiguration> bootstrap,
      Namespace namespace,
      BatchGatewayConfiguration config) {
    DataSourceFactory database = config.getDatabase();
    if (database.getUrl() == null) {
      throw new IllegalArgumentException(
          "No database configured: end the command with the gateway's configuration file, e.g."
              + " service/config/gateway.yml");
    }
    Migrations.apply(database);
    JdbiApiKeyStore keys =
        new JdbiApiKeyStore(
            Jdbi.create(database.getUrl(), database.getUser(), database.getPassword()));
    long now = Instant.now().getEpochSecond();
    switch (namespace.getString(ACTION)) {
      case "create" -> create(keys, namespace.getString("tenant"), now);
      case "list" -> list(keys.list(namespace.getString("tenant")));
      case "revoke" -> revoke(keys, namespace.getString("id"), now);
      default -> throw new IllegalArgumentException("Unknown action");
    }
  }

  private void create(JdbiApiKeyStore keys, String tenant, long now) {
    if (!ApiKeys.isValidTenant(tenant)) {
      throw new IllegalArgumentException(
          "A tenant is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
    KeyFormat.NewKey key = KeyFormat.generate();
    keys.insert(new StoredKey(key.id(), tenant, key.salt(), key.secretHash(), now, null));
    out.println("Created key " + key.id() + " for tenant " + tenant + ".");
    out.println("It is shown only now and cannot be recovered; store it safely:");
    out.println(key.key());
  }

  private void list(List<StoredKey> rows) {
    out.printf("%-12s  %-20s  %-20s  %s%n", "ID", "CREATED", "REVOKED", "TENANT");
    for (StoredKey row : rows) {
      out.printf(
          "%-12s  %-20s  %-20s  %s%n",
          row.id(),
          Instant.ofEpochSecond(row.createdAt()),
          row.revoked() ? Instant.ofEpochSecond(row.revokedAt()) : "-",
          row.tenant());
    }
  }

  private void revoke(JdbiApiKeyStore keys, String id, long now) {
    if (!keys.revoke(id, now)) {
      throw new IllegalArgumentException("No valid key has the id '" + id + "'");
    }
    out.println("Revoked key " + id + "; every gateway refuses it within seconds.");
  }
}
