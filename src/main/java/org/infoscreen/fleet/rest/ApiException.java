package org.infoscreen.fleet.rest;

/**
 * A REST request that cannot be served as asked. The REST error handler turns it into the HTTP
 * status and the JSON body {@code {"error": code, "message": message}} (DESIGN.md §6).
 */
public class ApiException extends RuntimeException {

    private final int status;
    private final String code;

    /**
     * @param status  HTTP status, e.g. 400 or 404
     * @param code    stable error code, e.g. {@code invalid_uuid}
     * @param message human-readable message, safe to show (no secrets, no stack traces)
     */
    public ApiException(int status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }

    /** @return HTTP status code */
    public int status() {
        return status;
    }

    /** @return stable error code */
    public String code() {
        return code;
    }

    /** @return a 404 {@code client_not_found} for the given UUID */
    public static ApiException clientNotFound(Object uuid) {
        return new ApiException(404, "client_not_found", "no client with uuid " + uuid);
    }
}
