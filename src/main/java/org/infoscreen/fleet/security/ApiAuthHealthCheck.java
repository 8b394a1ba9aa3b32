package org.infoscreen.fleet.security;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import java.util.Map;

/**
 * Health check {@code fleet-api-auth}: UP; with a warning message while REST authentication is
 * disabled ({@code API_AUTH_ENABLED=false}), so monitoring sees an open API. Reveals nothing but
 * whether authentication is on.
 */
public class ApiAuthHealthCheck extends AbstractHealthCheck {

    private final boolean enabled;

    /** @param enabled whether REST authentication is on */
    public ApiAuthHealthCheck(boolean enabled) {
        super("fleet", "fleet-api-auth");
        this.enabled = enabled;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        builder.detail("api_auth_enabled", enabled);
        if (!enabled) {
            builder.message("WARNING: REST authentication is disabled (API_AUTH_ENABLED=false): every endpoint answers "
                    + "without a token; only safe behind an authenticating proxy");
        }
        builder.up();
    }
}
