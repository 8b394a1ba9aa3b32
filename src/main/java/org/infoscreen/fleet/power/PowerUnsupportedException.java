package org.infoscreen.fleet.power;

/**
 * The hardware does not support the asked operation (for example a Redfish system without the
 * {@code PowerCycle} reset type). Fatal like {@link PowerFatalException}; for {@code cycle} the
 * shared power route falls back to off → wait → on when the driver lists both.
 */
public class PowerUnsupportedException extends PowerFatalException {

    /** @param message what is not supported, safe to show to operators (no secrets) */
    public PowerUnsupportedException(String message) {
        super(message);
    }
}
