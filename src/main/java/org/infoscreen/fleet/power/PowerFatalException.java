package org.infoscreen.fleet.power;

/**
 * A power driver failure that retrying cannot fix: authentication refused, a wrong parameter, an
 * operation the hardware does not support, a TLS certificate that is not trusted. The shared
 * power route fails the command at once with this message as its detail. Drivers throw it from
 * YAML with {@code throwException: {exceptionType: org.infoscreen.fleet.power.PowerFatalException,
 * message: "auth: ..."}}. The message must never contain a secret.
 */
public class PowerFatalException extends RuntimeException {

    /** @param message what went wrong, safe to show to operators (no secrets) */
    public PowerFatalException(String message) {
        super(message);
    }
}
