package dev.batchgateway.service.inference;

import jakarta.validation.Constraint;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import jakarta.validation.Payload;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.List;

/**
 * Checks the inference pools as a whole when the configuration is read (names, models in two pools,
 * urls, keys present in the environment), so the gateway refuses to start with one line per problem
 * rather than failing on its first request.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Constraint(validatedBy = PoolsAreValid.Validator.class)
public @interface PoolsAreValid {
  String message() default "inference pools are not valid";

  Class<?>[] groups() default {};

  Class<? extends Payload>[] payload() default {};

  final class Validator implements ConstraintValidator<PoolsAreValid, InferenceSettings> {
    @Override
    public boolean isValid(InferenceSettings settings, ConstraintValidatorContext context) {
      if (settings == null) {
        return true;
      }
      List<String> problems = settings.problems(System::getenv);
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
