package dev.batchgateway.service;

import io.dropwizard.core.cli.ServerCommand;
import io.dropwizard.core.setup.Bootstrap;
import net.sourceforge.argparse4j.inf.Namespace;

/** {@code api} and {@code worker}: the server command with only one half of the gateway. */
final class RoleServerCommand extends ServerCommand<BatchGatewayConfiguration> {
  private final BatchGatewayApplication application;
  private final Role role;

  RoleServerCommand(BatchGatewayApplication application, Role role, String description) {
    super(application, role.name().toLowerCase(java.util.Locale.ROOT), description);
    this.application = application;
    this.role = role;
  }

  @Override
  public void run(
      Bootstrap<BatchGatewayConfiguration> bootstrap,
      Namespace namespace,
      BatchGatewayConfiguration configuration)
      throws Exception {
    application.setRole(role);
    super.run(bootstrap, namespace, configuration);
  }
}
