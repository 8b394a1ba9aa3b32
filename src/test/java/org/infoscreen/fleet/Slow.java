package org.infoscreen.fleet;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A test class or method that takes long (fault injection, service processes, outages of a
 * minute): tagged {@code slow} and run only when {@code FLEET_SLOW_TESTS=true}, which
 * {@code .ci/run} sets. The normal {@code mvn -B test} skips it and stays within a few minutes.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("slow")
@EnabledIfEnvironmentVariable(named = "FLEET_SLOW_TESTS", matches = "true",
        disabledReason = "slow test: runs with FLEET_SLOW_TESTS=true (.ci/run)")
public @interface Slow {
}
