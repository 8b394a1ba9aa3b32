package org.infoscreen.fleet.security;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.User;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.AuthenticationHandler;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The first handler of the HTTP server, in front of every route (REST operations, the OpenAPI
 * document, metrics, consoles, static files and unknown paths): open paths pass; everything else
 * needs {@code Authorization: Bearer <token>} of a configured token whose role includes the role
 * the operation needs. Answers 401 (no or unknown token; {@code WWW-Authenticate: Bearer}) and 403
 * (role too low) itself with {@code {"error", "message"}}, before the request body is read.
 * The authenticated token becomes the Vert.x user (name, role), from which the routes get the
 * headers {@code fleetPrincipal} and {@code fleetRole} ({@link PrincipalRoutePolicyFactory}).
 *
 * <p>While the service stops (SIGTERM: the routes stop before the HTTP server does) every request
 * is answered 503 {@code {"error": "unavailable"}} with {@code Retry-After} and
 * {@code Connection: close}, instead of the router's 404 for the routes already gone.
 *
 * <p>With authentication disabled ({@code API_AUTH_ENABLED=false}, behind an authenticating proxy)
 * every request passes as {@value #ANONYMOUS} with the admin role.
 */
public final class ApiAccessHandler implements AuthenticationHandler {

    /** Principal name of requests while authentication is disabled. */
    public static final String ANONYMOUS = "anonymous";
    /** Key of the role in the Vert.x user's principal. */
    public static final String ROLE_KEY = "role";

    private final boolean enabled;
    private final Supplier<TokenStore> tokens;
    private final OpenPaths openPaths;
    private final AtomicReference<OperationRoles> roles;
    private final java.util.function.Consumer<String> refused;
    private final io.vertx.core.Handler<RoutingContext> openHealth;
    private final java.util.function.BooleanSupplier stopping;

    /** Seconds in the {@code Retry-After} of the answers while the service stops (REST_RETRY_AFTER_S). */
    private final int stoppingRetryAfterS;

    /**
     * @param enabled   whether tokens are required
     * @param tokens    the tokens in force (looked up per request, so the store can be set after start-up)
     * @param openPaths paths open without a token
     * @param roles     the role table, replaced when the REST DSL is (re)loaded
     * @param refused   told the reason of each refusal ({@code missing_token}, {@code invalid_token},
     *                  {@code forbidden}), e.g. to count it; runs on the event loop, must not block
     * @param openHealth answers a health request without a valid token (status and reason codes only)
     * @param stopping  whether the service is stopping (then every request is answered 503)
     * @param stoppingRetryAfterS seconds in the {@code Retry-After} of those 503 answers (REST_RETRY_AFTER_S)
     */
    public ApiAccessHandler(boolean enabled, Supplier<TokenStore> tokens, OpenPaths openPaths, AtomicReference<OperationRoles> roles,
                            java.util.function.Consumer<String> refused, io.vertx.core.Handler<RoutingContext> openHealth,
                            java.util.function.BooleanSupplier stopping, int stoppingRetryAfterS) {
        this.enabled = enabled;
        this.tokens = tokens;
        this.openPaths = openPaths;
        this.roles = roles;
        this.refused = refused;
        this.openHealth = openHealth;
        this.stopping = stopping;
        this.stoppingRetryAfterS = stoppingRetryAfterS;
    }

    @Override
    public void handle(RoutingContext ctx) {
        String method = ctx.request().method().name();
        String path = ctx.normalizedPath();
        if (stopping.getAsBoolean()) {
            ctx.response().putHeader("Retry-After", String.valueOf(stoppingRetryAfterS)).putHeader("Connection", "close");
            ErrorResponses.send(ctx, 503, "unavailable", "the service is stopping; try again");
            return;
        }
        if (OpenPaths.isHealth(path)) {
            health(ctx, method);
            return;
        }
        if (openPaths.isOpen(method, path)) {
            ctx.next();
            return;
        }
        if (!enabled) {
            ctx.setUser(user(ANONYMOUS, Role.ADMIN));
            ctx.next();
            return;
        }
        String presented = bearer(ctx.request().getHeader("Authorization"));
        if (presented == null) {
            refused.accept("missing_token");
            unauthorized(ctx, "Bearer realm=\"infoscreen-fleet\"",
                    "this endpoint needs an API token: send 'Authorization: Bearer <token>'");
            return;
        }
        TokenStore store = tokens.get();
        Optional<ApiToken> token = store == null ? Optional.empty() : store.authenticate(presented);
        if (token.isEmpty()) {
            refused.accept("invalid_token");
            unauthorized(ctx, "Bearer realm=\"infoscreen-fleet\", error=\"invalid_token\"", "the API token is not valid");
            return;
        }
        Role required = roles.get().required(method, path);
        ApiToken t = token.get();
        if (!t.role().includes(required)) {
            refused.accept("forbidden");
            ErrorResponses.send(ctx, 403, "forbidden", "this operation needs the " + required.id() + " role; token '"
                    + t.name() + "' has the " + t.role().id() + " role");
            return;
        }
        ctx.setUser(user(t.name(), t.role()));
        ctx.next();
    }

    /**
     * Health: HEAD is answered like GET without a body by {@link OpenHealth} (Camel's health routes
     * accept GET only; Docker and monitoring probes use HEAD); GET with a valid token (any role) or with authentication
     * disabled Camel's full answer, otherwise {@link OpenHealth}'s status and reason codes.
     */
    private void health(RoutingContext ctx, String method) {
        if ("HEAD".equals(method)) {
            // status and headers of GET; the same status with or without a token
            openHealth.handle(ctx);
            return;
        }
        if (!enabled) {
            ctx.setUser(user(ANONYMOUS, Role.ADMIN));
            ctx.next();
            return;
        }
        String presented = bearer(ctx.request().getHeader("Authorization"));
        TokenStore store = tokens.get();
        Optional<ApiToken> token = presented == null || store == null ? Optional.empty() : store.authenticate(presented);
        if (token.isPresent() && "GET".equals(method)) {
            ctx.setUser(user(token.get().name(), token.get().role()));
            ctx.next();
        } else if ("GET".equals(method)) {
            openHealth.handle(ctx);
        } else {
            ctx.next();
        }
    }

    private static User user(String name, Role role) {
        return User.create(new JsonObject().put("username", name).put(ROLE_KEY, role.id()));
    }

    private static void unauthorized(RoutingContext ctx, String challenge, String message) {
        ctx.response().putHeader("WWW-Authenticate", challenge);
        ErrorResponses.send(ctx, 401, "unauthorized", message);
    }

    /** @return the token of an {@code Authorization: Bearer <token>} header (scheme case-insensitive), or null */
    static String bearer(String authorization) {
        if (authorization == null) {
            return null;
        }
        String value = authorization.strip();
        if (value.length() < 8 || !value.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        String token = value.substring(7).strip();
        return token.isEmpty() ? null : token;
    }
}
