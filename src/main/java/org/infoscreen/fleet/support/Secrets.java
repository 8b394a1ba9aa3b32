package org.infoscreen.fleet.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Reads a secret from the environment following the Docker-secrets convention: {@code NAME}
 * holds the value, or {@code NAME_FILE} names a file that holds it (trailing newline removed).
 * {@code NAME} wins when both are set. Values are never logged.
 */
public final class Secrets {

    private final Map<String, String> env;

    /** @param env the environment to read, usually {@link System#getenv()} */
    public Secrets(Map<String, String> env) {
        this.env = env;
    }

    /**
     * @param name variable name
     * @return the value of {@code NAME} itself, or {@code null} when unset or empty (for secrets
     *         whose {@code NAME_FILE} form is handled by the caller, e.g. a file that is re-read)
     */
    public String getInline(String name) {
        String direct = env.get(name);
        return direct == null || direct.isEmpty() ? null : direct;
    }

    /**
     * @param name variable name, e.g. {@code MQTT_PASSWORD}
     * @return the secret, or {@code null} when neither {@code NAME} nor {@code NAME_FILE} is set
     * @throws UncheckedIOException when {@code NAME_FILE} names an unreadable file (the message names the variable, not the value)
     */
    public String get(String name) {
        String direct = env.get(name);
        if (direct != null && !direct.isEmpty()) {
            return direct;
        }
        String file = env.get(name + "_FILE");
        if (file == null || file.isEmpty()) {
            return null;
        }
        try {
            return Files.readString(Path.of(file)).stripTrailing();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the file named by " + name + "_FILE", e);
        }
    }
}
