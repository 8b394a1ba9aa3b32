package org.infoscreen.fleet.security;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.util.Map;

/**
 * JSON error answers {@code {"error": code, "message": text}} for what the HTTP server itself
 * refuses before any route runs (DESIGN.md §6): authentication (401, 403) and the Vert.x router's
 * own errors — no route (404), wrong method (405), body over the limit (413), failures (500) —
 * which Vert.x would otherwise answer with an HTML page or an empty body.
 */
public final class ErrorResponses {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ErrorResponses.class);

    private ErrorResponses() {
    }

    /**
     * Ends the response with a JSON error, unless it is already being written.
     *
     * @param ctx     the request
     * @param status  HTTP status
     * @param code    stable error code
     * @param message text, safe to show
     */
    public static void send(RoutingContext ctx, int status, String code, String message) {
        if (ctx.response().headWritten() || ctx.response().ended() || ctx.response().closed()) {
            return;
        }
        ctx.response().setStatusCode(status)
                .putHeader("Content-Type", "application/json")
                .putHeader("Cache-Control", "no-store")
                .end(new JsonObject().put("error", code).put("message", message).encode());
    }

    /**
     * Installs JSON error handlers for the router's own errors.
     *
     * @param router       a Vert.x router (the server's root router and the platform-http router)
     * @param maxBodyBytes the body limit, named in the 413 message
     */
    public static void install(Router router, long maxBodyBytes) {
        Map<Integer, String[]> errors = Map.of(
                400, new String[] {"bad_request", "the request could not be read"},
                401, new String[] {"unauthorized", "this endpoint needs an API token: send 'Authorization: Bearer <token>'"},
                403, new String[] {"forbidden", "the API token may not use this endpoint"},
                404, new String[] {"not_found", "no endpoint at this path"},
                405, new String[] {"method_not_allowed", "this endpoint does not accept this HTTP method"},
                406, new String[] {"not_acceptable", "this endpoint answers application/json only"},
                413, new String[] {"body_too_large", "the request body is larger than " + maxBodyBytes + " bytes (API_MAX_BODY_BYTES)"},
                415, new String[] {"unsupported_media_type", "send the body as application/json"},
                500, new String[] {"internal_error", "the request could not be completed; see the service log"},
                503, new String[] {"unavailable", "the service is starting or stopping; try again"});
        errors.forEach((status, e) -> router.errorHandler(status, ctx -> send(ctx, status, e[0], e[1])));
        router.route().failureHandler(ErrorResponses::clientGone);
    }

    /**
     * A client that closes the connection is no server error: after a 413 Vert.x stops reading
     * and closes the connection while a chunked upload is still arriving, and the request then
     * fails once more with {@code HttpClosedException}, which Vert.x logs at ERROR as "Unhandled
     * exception in router" with a stack trace. That failure ends here with one DEBUG line; every
     * other failure goes on to the error handlers above.
     */
    private static void clientGone(RoutingContext ctx) {
        Throwable failure = ctx.failure();
        if (failure instanceof io.vertx.core.http.HttpClosedException
                || failure instanceof io.vertx.core.VertxException && ctx.response().closed()) {
            LOG.debug("{} {}: the client closed the connection ({})", ctx.request().method(), ctx.normalizedPath(),
                    ctx.statusCode() > 0 ? "after status " + ctx.statusCode() : failure.getMessage());
            return;
        }
        ctx.next();
    }
}
