package dev.batchgateway.service;

import dev.batchgateway.service.limiter.RedissonLimiterFactory;
import jakarta.validation.Constraint;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import jakarta.validation.Payload;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks the TLS settings of the Temporal and Redis connections when the configuration is read
 * (files readable, no TLS file on a plain connection), so {@code check} and start-up report them
 * with the rest, one line per problem.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Constraint(validatedBy = TlsSettingsAreValid.Validator.class)
public @interface TlsSettingsAreValid {
  String message() default "TLS settings are not valid";

  Class<?>[] groups() default {};

  Class<? extends Payload>[] payload() default {};

  final class Validator
      implements ConstraintValidator<TlsSettingsAreValid, BatchGatewayConfiguration> {
    @Override
    public boolean isValid(BatchGatewayConfiguration config, ConstraintValidatorContext context) {
      if (config == null) {
        return true;
      }
      List<String> problems = new ArrayList<>();
      if (config.getTemporal() != null && config.getTemporal().getTls() != null) {
        problems.addAll(config.getTemporal().getTls().problems());
      }
      if (config.getLimiter() instanceof RedissonLimiterFactory redisson
          && redisson.getRedis() != null) {
        problems.addAll(redisson.getRedis().problems());
      }
      if (problems.isEmpty()) {
        return true;
      }
      context.disableDefaultConstraintViolation();
      for (String problem : problems) {
        context.buildConstraintViolationWithTemplate(literal(problem)).addConstraintViolation();
      }
      return false;
    }

    /** Escapes what a message template would otherwise read as a parameter or an expression. */
    private static String literal(String text) {
      return text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}").replace("$", "\\$");
    }
  }
}
