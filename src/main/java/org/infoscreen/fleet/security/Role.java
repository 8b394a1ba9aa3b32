package org.infoscreen.fleet.security;

import java.util.Locale;

/**
 * REST roles, each including the ones before it: {@code viewer} (reads) ⊂ {@code operator}
 * (commands, cancellations, clear_service_failed, clear_recovery, power cycle) ⊂ {@code admin}
 * (power targets, configuration, anything without a declared role).
 */
public enum Role {
    VIEWER, OPERATOR, ADMIN;

    /** @return the name used in configuration, the REST DSL and JSON: {@code viewer}, {@code operator}, {@code admin} */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @param required the role an operation needs
     * @return whether a token with this role may call it
     */
    public boolean includes(Role required) {
        return ordinal() >= required.ordinal();
    }

    /**
     * @param value {@code viewer}, {@code operator} or {@code admin} (exact, lower case)
     * @return the role
     * @throws IllegalArgumentException for anything else (the message names the allowed values only)
     */
    public static Role of(String value) {
        for (Role r : values()) {
            if (r.id().equals(value)) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown role; one of viewer, operator, admin");
    }
}
