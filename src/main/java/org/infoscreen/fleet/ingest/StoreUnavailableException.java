package org.infoscreen.fleet.ingest;

/**
 * A device message could not be stored now for a reason that is not the message's fault (the
 * snapshot writer stopped, the service shuts down): the ingest leaves it unacknowledged, like a
 * database outage, and never quarantines it.
 */
public class StoreUnavailableException extends RuntimeException {

    /** @param detail what is unavailable */
    public StoreUnavailableException(String detail) {
        super(detail);
    }
}
