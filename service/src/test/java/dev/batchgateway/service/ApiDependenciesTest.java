package dev.batchgateway.service;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The API depends on ports and the domain model only, so a store or engine can be swapped without
 * touching it; the application class is where adapters meet the resources. The domain records the
 * workflows take ({@code BatchInput}, {@code BatchStatus}) are allowed, the Temporal client is not.
 */
class ApiDependenciesTest {
  private static final JavaClasses CODE =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("dev.batchgateway");

  /** A class that implements a port: a store, limiter or client adapter. */
  private static final DescribedPredicate<JavaClass> PORT_ADAPTERS =
      new DescribedPredicate<>("implement a port") {
        @Override
        public boolean test(JavaClass type) {
          return !type.isInterface()
              && type.getAllRawInterfaces().stream()
                  .anyMatch(port -> port.getPackageName().endsWith(".port"));
        }
      };

  /**
   * Worker code: everything in the activities module but its ports, its domain model and the
   * logging context keys that API and worker lines share.
   */
  private static final DescribedPredicate<JavaClass> WORKER_CODE =
      resideInAPackage("dev.batchgateway.activities..")
          .and(
              DescribedPredicate.not(
                  resideInAnyPackage(
                      "dev.batchgateway.activities.model..",
                      "dev.batchgateway.activities.port..",
                      "dev.batchgateway.activities.logging..")))
          .as("are worker code");

  @Test
  void resourcesSeeNoDatabaseAdaptersWorkerCodeOrTemporalClient() {
    noClasses()
        .that()
        .resideInAPackage("dev.batchgateway.service.resources..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("dev.batchgateway.service.db..")
        .orShould()
        .dependOnClassesThat(PORT_ADAPTERS)
        .orShould()
        .dependOnClassesThat(WORKER_CODE)
        .orShould()
        .dependOnClassesThat()
        .resideInAnyPackage("dev.batchgateway.temporal..", "io.temporal..")
        .check(CODE);
  }
}
