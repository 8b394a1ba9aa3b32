package org.infoscreen.fleet.rest;

/**
 * A REST request that cannot be served as asked. The REST error handler turns it into the HTTP
 * status and the JSON body {@code {"error": code, "message": message}} (DESIGN.md §6).
 */
public class ApiException extends RuntimeException {

    private final int status;
    private final String code;
    private final java.util.Map<String, Object> extra;
    private final Long retryAfterS;

    /**
     * @param status  HTTP status, e.g. 400 or 404
     * @param code    stable error code, e.g. {@code invalid_uuid}
     * @param message human-readable message, safe to show (no secrets, no stack traces)
     */
    public ApiException(int status, String code, String message) {
        this(status, code, message, java.util.Map.of(), null);
    }

    /**
     * @param status      HTTP status
     * @param code        stable error code
     * @param message     human-readable message
     * @param extra       further fields of the error body (e.g. the command holding a lockout)
     * @param retryAfterS value of the {@code Retry-After} header in seconds, or {@code null}
     */
    public ApiException(int status, String code, String message, java.util.Map<String, Object> extra, Long retryAfterS) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.extra = extra;
        this.retryAfterS = retryAfterS;
    }

    /** @return further fields of the error body */
    public java.util.Map<String, Object> extra() {
        return extra;
    }

    /** @return seconds for the {@code Retry-After} header, or {@code null} */
    public Long retryAfterS() {
        return retryAfterS;
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
